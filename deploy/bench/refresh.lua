-- wrk -s refresh.lua URL -- CHATS.tsv
-- POST .../refresh from position 1 for the chats of CHATS.tsv, round-robin.
local reqs = {}
local i = 0
function init(args)
  for line in io.lines(args[1] or "chats.tsv") do
    local id, u, k = line:match("^(%S+)\t(%S+)\t(%S+)")
    if id then
      reqs[#reqs + 1] = wrk.format("POST", "/genesys/2/chat/support/" .. id .. "/refresh",
        {["Content-Type"] = "application/x-www-form-urlencoded"},
        "userId=" .. u .. "&secureKey=" .. k .. "&transcriptPosition=1")
    end
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
