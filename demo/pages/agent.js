// agent.js: the demo's agent console. It polls the cluster's queue of
// chats waiting for an agent (GET /agent/1/queue through the proxy; the
// demo has no agent token), joins them (POST /agent/1/chat/{chatId}/join),
// and runs each joined chat as its own session (chat.js) in a tab: reply,
// typing, files, end, and a button of the demo's that kills the node serving
// the chat. The joined chats are kept in the tab's session storage, so a
// reload resumes them. The console stays on REST polling (chat.js's
// RestTransport): an agent desktop is not a widget, and the customer page
// is the one that shows CometD.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const { el } = chatha;
  const QUEUE_MS = 2000;
  const KEY = 'chatha-demo-agent';
  const chats = new Map(); // chatId -> {session, view, pane, tab, unread, info}
  let active = '';

  function save() {
    const list = [...chats.values()].filter((c) => !c.session.ended).map((c) => ({ saved: c.session.saved(), info: c.info }));
    sessionStorage.setItem(KEY, JSON.stringify(list));
  }

  // open adds the tab and pane of a chat, info its queue entry, and starts
  // its session with start (a join or a resume).
  async function open(info, start) {
    const pane = $('pane-template').content.firstElementChild.cloneNode(true);
    const q = (sel) => pane.querySelector(sel);
    pane.dataset.chat = info.chatId;
    q('.title').textContent = info.nickname;
    q('.subject').textContent = info.subject || 'no subject';
    const view = new chatha.Transcript(q('.transcript'), q('.typing'), q('.people'));
    const tab = el('li', { 'data-chat': info.chatId },
      el('button', { type: 'button', class: 'tab' }, el('span', { class: 'name' }, info.nickname), el('span', { class: 'badge' })));
    const c = { view, pane, tab, unread: 0, info };
    let showKill = () => {};
    const session = new chatha.Session({
      service: info.service,
      transport: new chatha.RestTransport(),
      onEvent: (m) => {
        view.add(m);
        if (m.type !== 'TypingStarted' && m.type !== 'TypingStopped' && m.from.participantId !== c.session.me && active !== info.chatId) {
          c.unread++;
          badge(c);
        }
      },
      onNode: (from, to) => {
        q('.node').textContent = 'served by ' + to;
        if (from) view.note('The chat moved from ' + from + ' to ' + to + '.', 'moved');
        showKill();
      },
      onState: (state, detail) => {
        pane.dataset.state = state;
        tab.dataset.state = state;
        q('.state').textContent = state === 'connected' ? '' : state;
        if (state === 'ended') {
          view.note(detail ? 'The chat ended: ' + detail : 'The chat ended.', 'ended');
          for (const e of q('.compose').elements) e.disabled = true;
          q('.end').hidden = true;
          showKill();
          save();
        }
      },
    });
    c.session = session;
    view.session = session;
    await start(session);
    chats.set(info.chatId, c);
    const loadLimits = chatha.bindComposer(session, view, { form: q('.compose'), input: q('.message'), attach: q('.attach'), file: q('.file'), hint: q('.files') });
    loadLimits();
    q('.end').addEventListener('click', () => session.end().catch(() => {}));
    showKill = chatha.bindKill(q('.kill'), session, view);
    tab.querySelector('button').addEventListener('click', () => show(info.chatId));
    $('chats').append(tab);
    $('panes').append(pane);
    save();
    show(info.chatId);
  }

  function badge(c) {
    c.tab.querySelector('.badge').textContent = c.unread ? String(c.unread) : '';
  }

  function show(chatId) {
    active = chatId;
    $('empty').hidden = chats.size > 0;
    for (const [id, c] of chats) {
      const on = id === chatId;
      c.pane.hidden = !on;
      c.tab.classList.toggle('active', on);
      if (on) {
        c.unread = 0;
        badge(c);
        c.pane.querySelector('.message').focus();
      }
    }
  }

  async function join(info, button) {
    button.disabled = true;
    const nickname = $('agent-name').value.trim() || 'Agent';
    try {
      await open(info, (s) => s.join(info.chatId, nickname));
    } catch (e) {
      button.disabled = false;
      $('queue-state').textContent = 'Cannot join: ' + e.message;
    }
  }

  function waiting(s) {
    return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min';
  }

  function renderQueue(q) {
    const items = q.chats.filter((c) => !chats.has(c.chatId)).map((c) => {
      const button = el('button', { type: 'button', class: 'join primary' }, 'Join');
      button.addEventListener('click', () => join(c, button));
      return el('li', { 'data-chat': c.chatId },
        el('div', {}, el('b', {}, c.nickname), el('span', { class: 'muted' }, ' waiting ' + waiting(c.waitingSeconds))),
        el('div', { class: 'muted' }, (c.subject || 'no subject') + ' · on ' + c.alias), button);
    });
    $('queue').replaceChildren(...items);
    const gone = Object.keys(q.unreachable || {});
    $('queue-state').textContent = (items.length ? '' : 'No chat is waiting. ') +
      (gone.length ? 'Not answering: ' + gone.join(', ') + '.' : 'Updated ' + chatha.clock(Date.now()) + '.');
  }

  async function pollQueue() {
    try {
      const r = await fetch('/agent/1/queue', { cache: 'no-store', credentials: 'omit' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      renderQueue(await r.json());
    } catch (e) {
      $('queue-state').textContent = 'The queue cannot be read: ' + e.message;
    }
  }

  for (const { saved, info } of JSON.parse(sessionStorage.getItem(KEY) || '[]')) {
    open(info, (s) => s.resume(saved));
  }
  pollQueue();
  setInterval(pollQueue, QUEUE_MS);
})();

