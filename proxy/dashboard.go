package proxy

// dashboardHTML is the cluster dashboard: it polls /v1/cluster and /v1/kpi.
const dashboardHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chatha cluster</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin-bottom:1.5rem}
th,td{padding:.35rem .8rem;border-bottom:1px solid #ddd;text-align:left}
.alive{color:#080}.suspect{color:#b60}.dead,.left{color:#b00}
.broken{background:#fee}
</style></head><body>
<h1>chatha cluster</h1>
<p>Proxy <b id="proxy"></b>, ring checksum <code id="ring"></code>, updated <span id="at"></span></p>
<table><thead><tr><th>name</th><th>role</th><th>state</th><th>mode</th><th>sessions</th><th>address</th><th>incarnation</th></tr></thead>
<tbody id="members"></tbody></table>
<h2>KPI (all nodes)</h2>
<table><tbody id="kpi"></tbody></table>
<script>
function cell(tr, text, cls){const td=document.createElement('td');td.textContent=text;if(cls)td.className=cls;tr.appendChild(td)}
async function refresh(){
  try{
    const c=await (await fetch('/v1/cluster')).json();
    document.getElementById('proxy').textContent=c.proxy;
    document.getElementById('ring').textContent=c.ringChecksum;
    document.getElementById('at').textContent=new Date().toLocaleTimeString();
    const body=document.getElementById('members');body.replaceChildren();
    for(const m of c.members){const tr=document.createElement('tr');if(m.broken)tr.className='broken';
      cell(tr,m.name);cell(tr,m.role);cell(tr,m.state,m.state);cell(tr,m.mode);cell(tr,m.sessions);cell(tr,m.address);cell(tr,m.incarnation);body.appendChild(tr)}
    const k=await (await fetch('/v1/kpi')).json();
    const kb=document.getElementById('kpi');kb.replaceChildren();
    for(const [name,v] of Object.entries(k.total).sort()){const tr=document.createElement('tr');cell(tr,name);cell(tr,v);kb.appendChild(tr)}
  }catch(e){document.getElementById('at').textContent='unreachable: '+e}
}
refresh();setInterval(refresh,1000);
</script></body></html>`
