# search messages (zh-CN)
problem-search-unavailable = 此服务器的搜索功能正在准备中，请几秒钟后再试。
