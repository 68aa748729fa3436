-- nowls: nothing starts until require("nowls").setup({...}) is called (see README.md).
if vim.g.loaded_nowls then return end
vim.g.loaded_nowls = 1
