-- Every request on a new connection (Connection: close), and every 20th one (5%) asks for
-- /burn, so each target gets the same mix in the same order.
local n = 0
request = function()
  n = n + 1
  local path = "/"
  if n % 20 == 0 then path = "/burn" end
  return wrk.format("GET", path, { ["Connection"] = "close" })
end
