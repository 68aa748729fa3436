-- nowls for Neovim: starts `now lsp --stdio` for Python buffers (beside any other
-- language server) and adds commands for nowls's custom LSP methods (now/run,
-- now/trials, now/selectTrial, now/graph, now/diff) and its "Restore this file from
-- trial N" code actions. Running a trial (:NowRun, the "Run trial" code actions) asks for
-- the script's arguments, the last trial's as the default. Works on Neovim 0.7
-- (vim.lsp.start_client), 0.8–0.10 (vim.lsp.start) and 0.11+ (vim.lsp.config / vim.lsp.enable).
local M = {}

-- 0.11 made client functions methods (client:request(...)); the old field calls warn there.
local METHODS = vim.fn.has("nvim-0.11") == 1
local function call(c, name, ...)
  if METHODS then return c[name](c, ...) end
  return c[name](...)
end
M.call = call
local uv = vim.uv or vim.loop

M.config = {
  cmd = { "now", "lsp", "--stdio" },
  inlay_hints = false,
  root_markers = { ".now", ".git", "pyproject.toml" },
  name = "nowls",
  timeout = 20000,
}

M.state = {
  clients = {}, -- root -> client id
  inlay = false,
  last_finished = nil, -- TrialSummary of the last now/trialFinished
  finished_count = 0,
  on_finished = {}, -- callbacks(trial)
}

local function notify(msg, level)
  vim.notify("nowls: " .. msg, level or vim.log.levels.INFO)
end

local function is_dir_or_file(p)
  return uv.fs_stat(p) ~= nil
end

--- The nearest folder above `path` holding one of the root markers, or nil.
function M.find_root(path)
  if path == nil or path == "" then return nil end
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while true do
    for _, m in ipairs(M.config.root_markers) do
      if is_dir_or_file(dir .. "/" .. m) then return dir end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then return nil end
    dir = parent
  end
end

local function refresh(bufnr)
  -- The server publishes diagnostics again by itself; inlay hints need a redraw.
  if M.state.inlay and vim.lsp.inlay_hint and vim.lsp.inlay_hint.enable then
    pcall(vim.lsp.inlay_hint.enable, true, { bufnr = bufnr })
  end
  pcall(vim.cmd, "redraw")
end

local function on_trial_finished(err, result, ctx)
  if err or not result or not result.trial then return end
  local t = result.trial
  M.state.last_finished = t
  M.state.finished_count = M.state.finished_count + 1
  notify(string.format("trial %s of %s %s (exit %s)", tostring(t.id), tostring(t.script), tostring(t.status),
    tostring(t.exit_code == vim.NIL and "-" or t.exit_code)))
  refresh(0)
  for _, cb in ipairs(M.state.on_finished) do pcall(cb, t) end
end

local run_trial_command -- the client-side handler of now.runTrial, below

local function client_config(root)
  return {
    name = M.config.name,
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = root and { { uri = vim.uri_from_fname(root), name = root } } or nil,
    init_options = { inlayHints = M.state.inlay },
    settings = { nowls = { inlayHints = M.state.inlay } },
    handlers = { ["now/trialFinished"] = on_trial_finished },
    -- Code actions consult the client's commands before asking the server to execute one.
    commands = { ["now.runTrial"] = function(...) return run_trial_command(...) end },
    flags = { debounce_text_changes = 0 },
  }
end

--- Starts (or reuses) the project's server and attaches it to `bufnr`; returns the client id.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local root = M.find_root(vim.api.nvim_buf_get_name(bufnr))
  if not root then return nil end
  local id = M.state.clients[root]
  if id and not vim.lsp.get_client_by_id(id) then id = nil end
  if not id and vim.lsp.start then
    -- Neovim 0.8+: vim.lsp.start reuses a client of the same name and root, and attaches.
    id = vim.lsp.start(client_config(root), { bufnr = bufnr })
    if id then M.state.clients[root] = id end
    return id
  end
  if not id then
    id = vim.lsp.start_client(client_config(root))
    if not id then
      notify("could not start " .. table.concat(M.config.cmd, " "), vim.log.levels.ERROR)
      return nil
    end
    M.state.clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

--- nowls's client attached to `bufnr` (waits for it to initialize), or nil.
function M.client(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local found
  local attached = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr }) or vim.lsp.buf_get_clients(bufnr)
  for _, c in pairs(attached) do
    if c.name == M.config.name then found = c end
  end
  if not found then
    local id = M.attach(bufnr)
    found = id and vim.lsp.get_client_by_id(id)
  end
  if not found then return nil end
  vim.wait(M.config.timeout, function() return found.initialized == true or found.is_stopped() end, 20)
  return found
end

--- A synchronous request to nowls: returns result, err.
function M.request(method, params, bufnr)
  local c = M.client(bufnr)
  if not c then return nil, "nowls is not attached to this buffer" end
  local resp, err = call(c, "request_sync", method, params, M.config.timeout, bufnr or vim.api.nvim_get_current_buf())
  if not resp then return nil, err or "no answer" end
  if resp.err then return nil, resp.err.message or vim.inspect(resp.err) end
  return resp.result, nil
end

local function scratch(lines, ft, name)
  vim.cmd("new")
  local b = vim.api.nvim_get_current_buf()
  vim.bo[b].buftype = "nofile"
  vim.bo[b].bufhidden = "wipe"
  vim.bo[b].swapfile = false
  if type(lines) == "string" then lines = vim.split(lines, "\n", { plain = true }) end
  vim.api.nvim_buf_set_lines(b, 0, -1, false, lines)
  if ft then vim.bo[b].filetype = ft end
  if name then pcall(vim.api.nvim_buf_set_name, b, name) end
  vim.bo[b].modifiable = false
  return b
end

--- The arguments as a POSIX shell command line would hold them (as the server's titles do).
function M.quote_args(args)
  local out = {}
  for _, a in ipairs(args or {}) do
    a = tostring(a)
    if a:match("^[%w@%%+=:,./_-]+$") then table.insert(out, a)
    else table.insert(out, "'" .. a:gsub("'", [['\'']]) .. "'") end
  end
  return table.concat(out, " ")
end

--- Splits a line into arguments as a shell would, expanding nothing: blanks separate, '…'
--- is literal, "…" and a bare backslash escape the next character (in "…" only $ ` " \).
--- A quote left open runs to the end of the line.
function M.split_args(line)
  local out, cur, in_word, i, n = {}, {}, false, 1, #line
  while i <= n do
    local ch = line:sub(i, i)
    if ch == "'" then
      in_word = true
      local e = line:find("'", i + 1, true) or (n + 1)
      table.insert(cur, line:sub(i + 1, e - 1))
      i = e
    elseif ch == '"' then
      in_word = true
      i = i + 1
      while i <= n and line:sub(i, i) ~= '"' do
        local c = line:sub(i, i)
        if c == "\\" and i < n and ('$`"\\\n'):find(line:sub(i + 1, i + 1), 1, true) then
          i = i + 1
          c = line:sub(i, i)
        end
        table.insert(cur, c)
        i = i + 1
      end
    elseif ch == "\\" then
      in_word = true
      if i < n then
        i = i + 1
        table.insert(cur, line:sub(i, i))
      end
    elseif ch:match("%s") then
      if in_word then table.insert(out, table.concat(cur)) end
      cur, in_word = {}, false
    else
      in_word = true
      table.insert(cur, ch)
    end
    i = i + 1
  end
  if in_word then table.insert(out, table.concat(cur)) end
  return out
end

local builtin_input = vim.ui and vim.ui.input
local CANCELLED = "\27nowls-cancelled"

--- Asks for a script's arguments with `default` (a list) as the editable text; calls
--- `on_args(list)`, or nothing when the prompt is cancelled.
function M.ask_args(name, default, fine, on_args)
  local opts = {
    prompt = "Arguments of " .. name .. (fine and ", run with values" or "") .. ": ",
    default = M.quote_args(default),
  }
  if vim.ui.input == builtin_input and vim.fn.has("nvim-0.9") == 0 then
    -- Before 0.9 the built-in vim.ui.input takes an emptied line for a cancel: an empty
    -- line has to mean "no arguments" when the default had some.
    opts.cancelreturn = CANCELLED
    local line = vim.fn.input(opts)
    if line ~= CANCELLED then on_args(M.split_args(line)) end
    return
  end
  vim.ui.input(opts, function(line)
    if line ~= nil then on_args(M.split_args(line)) end
  end)
end

--- The arguments of the last trial whose script is the buffer's file (argv without the
--- script), or none.
function M.last_args(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local c = M.client(bufnr)
  local root = c and c.config.root_dir
  local file = vim.api.nvim_buf_get_name(bufnr)
  if not root or file:sub(1, #root + 1) ~= root .. "/" then return {} end
  local rel = file:sub(#root + 2)
  local trials = M.trials(bufnr) or {}
  for i = #trials, 1, -1 do
    local t = trials[i]
    -- A backup trial (now restore) ran nothing: its argv is empty.
    if t.script == rel and #t.argv > 0 then return vim.list_slice(t.argv, 2) end
  end
  return {}
end

local function running(file, args, fine)
  local shown = M.quote_args(args)
  return "running " .. (fine and "(fine) " or "") .. vim.fn.fnamemodify(file, ":t") .. (shown ~= "" and " " .. shown or "")
end

local function answered(on_done)
  return function(err, result)
    if err then
      notify("run failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif result then
      local t = result.trial
      notify(string.format("trial %s %s, exit code %s", tostring(t.id), tostring(t.status), tostring(result.exitCode)))
    end
    if on_done then on_done(result, err) end
  end
end

--- now/run of the current buffer's script; `on_done(result, err)` when it ends (async).
--- `fine`: also record the values of the script's variables (what variable hovers show).
function M.run(args, on_done, bufnr, fine)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local c = M.client(bufnr)
  if not c then return notify("not attached", vim.log.levels.ERROR) end
  notify(running(vim.api.nvim_buf_get_name(bufnr), args, fine))
  local params = { uri = vim.uri_from_bufnr(bufnr), args = args or {} }
  if fine then params.fine = true end
  call(c, "request", "now/run", params, answered(on_done), bufnr)
end

--- :NowRun without arguments: asks for them, the last trial's as the default.
function M.run_asking(bufnr, fine, on_done)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":t")
  M.ask_args(name, M.last_args(bufnr), fine, function(args) M.run(args, on_done, bufnr, fine) end)
end

--- The "Run trial" code actions' command, [uri, args, fine] with the last trial's args:
--- asks for the arguments with those as the default, then sends the command with them.
function run_trial_command(command, ctx)
  local a = command.arguments or {}
  local uri, given, fine = a[1], a[2], a[3] == true
  local c = vim.lsp.get_client_by_id(ctx.client_id)
  if not c or type(uri) ~= "string" then return end
  local bufnr = ctx.bufnr or vim.uri_to_bufnr(uri)
  M.ask_args(vim.fn.fnamemodify(vim.uri_to_fname(uri), ":t"), type(given) == "table" and given or {}, fine, function(args)
    notify(running(vim.uri_to_fname(uri), args, fine))
    -- An empty Lua table would go out as {}, which the server also takes for no arguments.
    call(c, "request", "workspace/executeCommand", { command = command.command, arguments = { uri, args, fine } },
      answered(nil), bufnr)
  end)
end

--- now/trials, oldest first.
function M.trials(bufnr) return M.request("now/trials", vim.NIL, bufnr) end

--- now/selectTrial for the buffer (`trial` nil: back to the default).
function M.select_trial(trial, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  return M.request("now/selectTrial", { uri = vim.uri_from_bufnr(bufnr), trial = trial == nil and vim.NIL or trial }, bufnr)
end

--- now/graph as text (dot by default).
function M.graph(kind, opts)
  opts = opts or {}
  local params = { kind = kind or "activation", format = opts.format or "dot" }
  if opts.trial then params.trial = opts.trial end
  if opts.focus then params.focus = opts.focus end
  if opts.depth then params.depth = opts.depth end
  return M.request("now/graph", params, opts.bufnr)
end

--- The buffer's trial against trial `n` (command now.diffTrial): {text, data}.
function M.diff(n, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  return M.request("workspace/executeCommand",
    { command = "now.diffTrial", arguments = { vim.uri_from_bufnr(bufnr), n } }, bufnr)
end

local function restore_actions(bufnr)
  local last = math.max(vim.api.nvim_buf_line_count(bufnr) - 1, 0)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = 0, character = 0 }, ["end"] = { line = last, character = 0 } },
    context = { diagnostics = {} },
  }
  local actions, err = M.request("textDocument/codeAction", params, bufnr)
  if not actions then return nil, err end
  local out = {}
  for _, a in ipairs(actions) do
    local n = a.title and a.title:match("^Restore this file from trial (%d+)")
    if n and a.edit then table.insert(out, { trial = tonumber(n), action = a }) end
  end
  return out
end

--- Applies the code action "Restore this file from trial N". The server offers one
--- action per distinct text (for the newest trial having it), so when trial N's text is
--- the same as a newer trial's, that trial's action is used (checked with now/diff).
--- Returns the action's title, or nil and an error.
function M.restore(n, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local c = M.client(bufnr)
  if not c then return nil, "not attached" end
  local actions, err = restore_actions(bufnr)
  if not actions then return nil, err end
  local chosen
  for _, a in ipairs(actions) do
    if a.trial == n then chosen = a.action end
  end
  if not chosen then
    local rel = vim.api.nvim_buf_get_name(bufnr):sub(#(c.config.root_dir or "") + 2)
    for _, a in ipairs(actions) do
      local d = M.request("now/diff", { a = n, b = a.trial }, bufnr)
      if d and d.data then
        local same = true
        for _, ch in ipairs(d.data.code or {}) do
          if ch.path == rel then same = false end
        end
        if same then
          chosen = vim.deepcopy(a.action)
          chosen.title = chosen.title .. ", the same text as trial " .. n
          break
        end
      end
    end
  end
  if not chosen then return nil, "no code action restores trial " .. n .. " (is the buffer already as it was?)" end
  vim.lsp.util.apply_workspace_edit(chosen.edit, c.offset_encoding or "utf-16")
  return chosen.title
end

--- Inlay hints on/off (workspace/didChangeConfiguration; shown natively from Neovim 0.10).
function M.set_inlay(on)
  M.state.inlay = on
  for _, id in pairs(M.state.clients) do
    local c = vim.lsp.get_client_by_id(id)
    if c then
      c.config.settings = { nowls = { inlayHints = on } }
      call(c, "notify", "workspace/didChangeConfiguration", { settings = { nowls = { inlayHints = on } } })
    end
  end
  if vim.lsp.inlay_hint and vim.lsp.inlay_hint.enable then
    if not pcall(vim.lsp.inlay_hint.enable, on, { bufnr = 0 }) then pcall(vim.lsp.inlay_hint.enable, 0, on) end
  end
  return on
end

local function open_path(p)
  if vim.ui and vim.ui.open then
    local ok = pcall(vim.ui.open, p)
    if ok then return notify("opened " .. p) end
  end
  notify("graph written to " .. p)
end

local function fmt_trial(t)
  return string.format("%s  %s  %s  %s", tostring(t.id), table.concat(t.argv or {}, " "), tostring(t.status),
    t.started_at and t.started_at ~= vim.NIL and os.date("%Y-%m-%d %H:%M:%S", math.floor(t.started_at / (t.started_at > 1e11 and 1000 or 1))) or "")
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("NowRun", function(o)
    local fine = o.bang or M.config.fine == true
    if #o.fargs == 0 then M.run_asking(0, fine) else M.run(o.fargs, nil, 0, fine) end
  end, { nargs = "*", bang = true,
    desc = "nowls: run this script as a trial (no arguments: asks, the last trial's as default; ! records values)" })
  cmd("NowTrials", function()
    local list, err = M.trials()
    if not list then return notify(err, vim.log.levels.ERROR) end
    local items = { { default = true } }
    for i = #list, 1, -1 do table.insert(items, list[i]) end
    vim.ui.select(items, {
      prompt = "Trial for hovers:",
      format_item = function(t) return t.default and "default (latest trial of this file)" or fmt_trial(t) end,
    }, function(choice)
      if not choice then return end
      local r, e = M.select_trial(not choice.default and choice.id or nil)
      if r then notify("hovers show trial " .. tostring(r.id)) else notify(e, vim.log.levels.ERROR) end
    end)
  end, { desc = "nowls: list trials and pick the one hovers show" })
  cmd("NowGraph", function(o)
    local kind = o.fargs[1] or "activation"
    local dot, err = M.graph(kind, { trial = tonumber(o.fargs[2]) or o.fargs[2] })
    if not dot then return notify(err, vim.log.levels.ERROR) end
    if vim.fn.executable("dot") == 1 then
      local base = vim.fn.tempname()
      vim.fn.writefile(vim.split(dot, "\n", { plain = true }), base .. ".dot")
      vim.fn.system({ "dot", "-Tsvg", "-o", base .. ".svg", base .. ".dot" })
      if vim.v.shell_error == 0 then return open_path(base .. ".svg") end
    end
    scratch(dot, "dot", "nowls://graph/" .. kind)
  end, { nargs = "*", complete = function() return { "activation", "dataflow", "history", "definitions" } end,
    desc = "nowls: graph of a trial (activation|dataflow|history|definitions)" })
  cmd("NowDiff", function(o)
    local n = tonumber(o.fargs[1]) or o.fargs[1]
    local r, err = M.diff(n)
    if not r then return notify(err, vim.log.levels.ERROR) end
    scratch(type(r) == "table" and r.text or tostring(r), "diff", "nowls://diff/" .. tostring(n))
  end, { nargs = 1, desc = "nowls: diff this buffer's trial with trial N" })
  cmd("NowRestore", function(o)
    local title, err = M.restore(tonumber(o.fargs[1]))
    if title then notify(title) else notify(err, vim.log.levels.ERROR) end
  end, { nargs = 1, desc = "nowls: restore this file as trial N had it" })
  cmd("NowInlay", function()
    local on = M.set_inlay(not M.state.inlay)
    local shown = vim.lsp.inlay_hint ~= nil
    notify("inlay hints " .. (on and "on" or "off") .. (shown and "" or " (Neovim < 0.10 does not display them)"))
  end, { desc = "nowls: toggle inlay hints" })
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", M.config, opts or {})
  M.state.inlay = M.config.inlay_hints == true
  create_commands()
  local group = vim.api.nvim_create_augroup("nowls", { clear = true })
  if vim.lsp.config and vim.lsp.enable then
    -- 0.11+: the native way. vim.lsp.config("nowls", {...}) in the user's config still
    -- overrides what is set here; Neovim starts one client per root for Python buffers.
    local cfg = client_config(nil)
    cfg.filetypes = { "python" }
    cfg.root_dir = function(bufnr, on_dir)
      local root = M.find_root(vim.api.nvim_buf_get_name(bufnr))
      if root then on_dir(root) end -- outside any project: no client
    end
    vim.lsp.config(M.config.name, cfg)
    vim.lsp.enable(M.config.name)
    vim.api.nvim_create_autocmd("LspAttach", {
      group = group,
      callback = function(a)
        local c = vim.lsp.get_client_by_id(a.data.client_id)
        if c and c.name == M.config.name and c.config.root_dir then M.state.clients[c.config.root_dir] = c.id end
      end,
    })
    return
  end
  vim.api.nvim_create_autocmd("FileType", {
    group = group, pattern = "python",
    callback = function(a) M.attach(a.buf) end,
  })
  -- Python buffers already open when setup runs.
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.bo[b].filetype == "python" then M.attach(b) end
  end
end

return M
