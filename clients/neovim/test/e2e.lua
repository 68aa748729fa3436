-- End-to-end test of the nowls plugin in headless Neovim (0.7+), run by
-- test/neovim-client.test.ts in the demo project (trials 1-3, trial 3 fine):
-- :NowRun 2013 2015, hover prec_a, the dataflow graph as dot, :NowRestore 1, then the
-- "Run trial" code actions and :NowRun without arguments, their prompts answered here
-- (left as offered, edited, cancelled).
-- Writes what it saw to $NOWLS_OUT and the dot text to $NOWLS_OUT.dot.
local out = assert(os.getenv("NOWLS_OUT"))
local report = {}
local function say(s) table.insert(report, s) end
local function finish()
  local f = assert(io.open(out, "w"))
  f:write(table.concat(report, "\n") .. "\n")
  f:close()
  local clients = vim.lsp.get_clients or vim.lsp.get_active_clients
  for _, c in pairs(clients()) do require("nowls").call(c, "stop") end
  vim.wait(2000, function() return #clients() == 0 end, 50)
  vim.cmd("qall!")
end

local ok, err = pcall(function()
  local nowls = require("nowls")
  local notes = {}
  local orig_notify = vim.notify
  vim.notify = function(msg, level) table.insert(notes, msg) end
  -- The user's own Python server (a stand-in for pyright), configured as users do: nowls
  -- must attach beside it, not replace it.
  local fake = os.getenv("NOWLS_FAKE_PY_LSP")
  vim.api.nvim_create_autocmd("FileType", { pattern = "python", callback = function(a)
    local cfg = { name = "fake-python-lsp", cmd = { os.getenv("NOW_PYTHON") or "python3", fake }, root_dir = vim.fn.getcwd() }
    if vim.lsp.start then vim.lsp.start(cfg, { bufnr = a.buf })
    else vim.lsp.buf_attach_client(a.buf, vim.lsp.start_client(cfg)) end
  end })
  nowls.setup({ cmd = { "node", assert(os.getenv("NOWLS_BIN")), "lsp", "--stdio" } })

  vim.cmd("edit experiment.py")
  if vim.bo.filetype ~= "python" then vim.bo.filetype = "python" end
  -- The FileType autocommand started the project's client (listed once initialized).
  -- (On 0.11+ Neovim itself starts it, vim.lsp.enable; the plugin hears of it on LspAttach.)
  local started = vim.wait(20000, function() return nowls.state.clients[vim.fn.getcwd()] ~= nil end, 20)
  say("== FileType python started nowls for the project: " .. tostring(started))
  local c = nowls.client(0)
  say("== attached: " .. tostring(c ~= nil and c.initialized == true) .. " (" .. (c and c.name or "-") .. ")")
  say("root is the project: " .. tostring(c and c.config.root_dir == vim.fn.getcwd()))
  say("the same client: " .. tostring(c and c.id == nowls.state.clients[vim.fn.getcwd()]))
  local names = {}
  local function attached_names()
    names = {}
    local list = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = 0 }) or vim.lsp.buf_get_clients(0)
    for _, x in pairs(list) do table.insert(names, x.name) end
    table.sort(names)
    return #names == 2
  end
  vim.wait(10000, attached_names, 20)
  say("servers on the buffer: " .. table.concat(names, ", "))

  say("== :NowRun! 2013 2015")
  vim.cmd("NowRun! 2013 2015")
  local function finished()
    local t = nowls.state.last_finished
    return t ~= nil and t.argv[#t.argv] == "2015"
  end
  local function answered()
    for _, n in ipairs(notes) do
      if n:match("exit code") then return true end
    end
    return false
  end
  say("trialFinished heard: " .. tostring(vim.wait(60000, finished, 50)))
  vim.wait(10000, answered, 50)
  local t = nowls.state.last_finished
  say(string.format("last finished: trial %s %s %s", tostring(t and t.id), t and table.concat(t.argv, " ") or "-", tostring(t and t.status)))
  local seen = {}
  for _, n in ipairs(notes) do
    if not seen[n] then say("notify: " .. n) end
    seen[n] = true
  end

  say("== hover prec_a")
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local hover = "(line not found)"
  for i, l in ipairs(lines) do
    if l:find("^prec_a =") then
      local params = { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = i - 1, character = 0 } }
      local resp, herr = vim.lsp.buf_request_sync(0, "textDocument/hover", params, 10000)
      hover = "(no hover: " .. tostring(herr) .. ")"
      local other = "(none)"
      for id, r in pairs(resp or {}) do
        local text = r.result and r.result.contents and (r.result.contents.value or r.result.contents)
        if id == c.id then
          if text then hover = text end
          if r.err then hover = "error: " .. tostring(r.err.message) end
        elseif text then
          other = text
        end
      end
      say("the other server's hover too: " .. tostring(other))
      break
    end
  end
  say(vim.split(hover, "\n")[1])
  say("mentions the new trial: " .. tostring(t ~= nil and hover:find("trial " .. t.id, 1, true) ~= nil))

  say("== trials")
  for _, tr in ipairs(nowls.trials() or {}) do
    say(string.format("%d %s %s", tr.id, table.concat(tr.argv, " "), tr.status))
  end

  say("== :NowTrials, picking trial 3")
  local orig_select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    for _, it in ipairs(items) do
      if it.id == 3 then return on_choice(it) end
    end
    on_choice(nil)
  end
  notes = {}
  vim.cmd("NowTrials")
  vim.ui.select = orig_select
  for _, n in ipairs(notes) do say("notify: " .. n) end
  local resp = vim.lsp.buf_request_sync(0, "textDocument/hover",
    { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = 14, character = 0 } }, 10000)
  for id, r in pairs(resp or {}) do
    if id == c.id and r.result then say("hover now: " .. vim.split(r.result.contents.value, "\n")[1]) end
  end
  nowls.select_trial(nil)

  say("== :NowDiff 1")
  local src = vim.api.nvim_get_current_buf()
  vim.cmd("NowDiff 1")
  local dl = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  say("scratch buffer " .. vim.bo.filetype .. ", first line: " .. tostring(dl[1]))
  vim.cmd("close")
  say("back in experiment.py: " .. tostring(vim.api.nvim_get_current_buf() == src))

  say("== :NowInlay")
  notes = {}
  vim.cmd("NowInlay")
  for _, n in ipairs(notes) do say("notify: " .. n:gsub(" %(Neovim < 0.10 does not display them%)", "")) end
  vim.cmd("NowInlay")

  say("== :NowGraph dataflow")
  notes = {}
  if vim.ui.open then vim.ui.open = function() end end -- Neovim 0.10+: no viewer in a test
  vim.cmd("NowGraph dataflow")
  -- With Graphviz: an SVG file, opened; without: the dot text in a scratch buffer.
  for _, n in ipairs(notes) do
    local p = n:match("graph written to (.*)$") or n:match("opened (.*)$")
    if p then
      say("graph as: svg file (Graphviz: " .. tostring(vim.fn.executable("dot") == 1) .. ")")
      say("graph shown: " .. tostring((vim.uv or vim.loop).fs_stat(p) ~= nil and p:match("%.svg$") ~= nil))
    else
      say("notify: " .. n)
    end
  end
  if #notes == 0 then
    say("graph as: dot in a scratch buffer (Graphviz: " .. tostring(vim.fn.executable("dot") == 1) .. ")")
    local first = vim.api.nvim_buf_get_lines(0, 0, 1, false)[1]
    say("graph shown: " .. tostring(vim.bo.filetype == "dot" and first:match("^digraph") ~= nil))
    vim.cmd("close")
  end

  say("== graph dataflow")
  local dot, gerr = nowls.graph("dataflow")
  say("starts with digraph: " .. tostring(type(dot) == "string" and dot:sub(1, 7) == "digraph") .. (gerr and (" " .. gerr) or ""))
  local df = assert(io.open(out .. ".dot", "w"))
  df:write(dot or "")
  df:close()

  say("== :NowRestore 1")
  local lnum
  lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  for i, l in ipairs(lines) do
    if l:find("^prec_a =") then lnum = i end
  end
  vim.api.nvim_buf_set_lines(0, lnum - 1, lnum, false, { "prec_a = []  # changed in the editor" })
  say("changed line " .. lnum .. ", modified: " .. tostring(vim.bo.modified))
  local before = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  notes = {}
  vim.cmd("NowRestore 1")
  for _, n in ipairs(notes) do say("notify: " .. n) end
  local after = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n") .. "\n"
  local want = os.getenv("NOWLS_TRIAL1_TEXT") and assert(io.open(os.getenv("NOWLS_TRIAL1_TEXT"))):read("*a")
  say("buffer changed by restore: " .. tostring(after ~= before .. "\n"))
  say("buffer equals experiment.py of trial 1: " .. tostring(after == want))

  -- Each prompt is answered by the next function: given the prompt's options, the line the
  -- user leaves (nil: cancelled).
  local answers = {}
  local orig_input = vim.ui.input
  vim.ui.input = function(opts, on_confirm)
    say(string.format("prompt %q, default %q", opts.prompt, opts.default or ""))
    on_confirm(table.remove(answers, 1)(opts))
  end
  local function run_titles()
    local actions = nowls.request("textDocument/codeAction", {
      textDocument = { uri = vim.uri_from_bufnr(0) },
      range = { start = { line = 0, character = 0 }, ["end"] = { line = 0, character = 0 } },
      context = { diagnostics = {} },
    }) or {}
    for _, a in ipairs(actions) do
      if a.title:match("^Run trial") then say("action: " .. a.title) end
    end
  end
  -- Picks the code action titled `title` in vim.lsp.buf.code_action's menu (0.7 lists
  -- {client_id, action}, later versions {action, ctx}).
  local function code_action(title)
    local shown = false
    vim.ui.select = function(items, _, on_choice)
      shown = true
      for _, it in ipairs(items) do
        local a = it.action or it[2]
        if a.title == title then return on_choice(it) end
      end
      say("no code action " .. title)
      on_choice(nil)
    end
    vim.lsp.buf.code_action()
    -- The menu comes once the servers answered.
    if not vim.wait(10000, function() return shown end, 20) then say("no code action menu") end
    vim.ui.select = orig_select
  end
  -- Waits for the trial started by `start` to end; says which it was and how it ended.
  local function ran(start)
    local before = nowls.state.finished_count
    notes = {}
    start()
    local heard = vim.wait(60000, function() return nowls.state.finished_count > before end, 50)
    vim.wait(10000, answered, 50)
    local t2 = nowls.state.last_finished
    if not heard then return say("no trial ran") end
    say(string.format("trial %s ran with arguments [%s] %s", tostring(t2.id), table.concat(vim.list_slice(t2.argv, 2), "|"), t2.status))
    for _, n in ipairs(notes) do
      if not n:match("^nowls: trial %d+ of ") then say("notify: " .. n) end
    end
    return t2
  end

  say("== the Run trial code actions offer the last trial's arguments")
  run_titles()
  say("== code action, the prompt left as offered")
  table.insert(answers, function(o) return o.default end)
  ran(function() code_action("Run trial of experiment.py 2013 2015") end)
  say("== code action, the prompt edited: an argument with a space survives")
  table.insert(answers, function() return "2013 'not a year'" end)
  ran(function() code_action("Run trial of experiment.py 2013 2015") end)
  run_titles()
  say("== code action, the prompt cancelled")
  local count = nowls.state.finished_count
  local listed = #(nowls.trials() or {})
  table.insert(answers, function() return nil end)
  code_action("Run trial of experiment.py 2013 'not a year'")
  vim.wait(3000, function() return nowls.state.finished_count > count end, 50)
  say("nothing ran: " .. tostring(nowls.state.finished_count == count and #(nowls.trials() or {}) == listed))
  say("== code action with values, the prompt edited")
  table.insert(answers, function() return "2013 2014" end)
  local fine = ran(function() code_action("Run trial of experiment.py 2013 'not a year' with values") end)
  local details = fine and nowls.request("now/trial", { trial = fine.id })
  say(string.format("now/trial %s: granularity %s, values recorded: %s", tostring(fine and fine.id),
    tostring(details and details.trial.granularity), tostring(details ~= nil and details.summary.values > 0)))
  say("== :NowRun without arguments: the last trial's as the default")
  table.insert(answers, function(o) return o.default end)
  ran(function() vim.cmd("NowRun") end)
  say("== Neovim's own prompt: an emptied line runs without arguments, a cancel runs nothing")
  -- What the user types goes through vim.fn.input, whose cancelreturn is what Esc gives.
  vim.ui.input = orig_input
  local orig_fn_input = vim.fn.input
  vim.fn.input = function(opts)
    say(string.format("input %q, default %q", opts.prompt, opts.default or ""))
    return table.remove(answers, 1)(opts)
  end
  table.insert(answers, function() return "" end)
  ran(function() vim.cmd("NowRun!") end)
  count = nowls.state.finished_count
  table.insert(answers, function(o) return o.cancelreturn end)
  vim.cmd("NowRun")
  vim.wait(3000, function() return nowls.state.finished_count > count end, 50)
  say("nothing ran: " .. tostring(nowls.state.finished_count == count))
  vim.fn.input = orig_fn_input
  vim.notify = orig_notify
end)
if not ok then say("error: " .. tostring(err)) end
finish()
