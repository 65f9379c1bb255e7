# search messages (zh-TW)
problem-search-unavailable = 這台伺服器的搜尋功能正在準備中，請幾秒後再試一次。
