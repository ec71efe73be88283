-- Every request on a new connection (Connection: close), every one of them fast.
request = function()
  return wrk.format("GET", "/", { ["Connection"] = "close" })
end
