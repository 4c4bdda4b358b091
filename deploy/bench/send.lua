-- wrk -s send.lua URL -- CHATS.tsv
-- POST .../send to the chats of CHATS.tsv (chatId, userId, secureKey per line), round-robin.
local chats = {}
local n = 0
function init(args)
  for line in io.lines(args[1] or "chats.tsv") do
    local id, u, k = line:match("^(%S+)\t(%S+)\t(%S+)")
    if id then
      chats[#chats + 1] = wrk.format("POST", "/genesys/2/chat/support/" .. id .. "/send",
        {["Content-Type"] = "application/x-www-form-urlencoded"},
        "userId=" .. u .. "&secureKey=" .. k .. "&message=hello+I+have+a+question+about+my+order")
    end
  end
end
function request()
  n = n % #chats + 1
  return chats[n]
end
