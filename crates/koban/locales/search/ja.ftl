# search messages (ja)
problem-search-unavailable = このサーバーの検索は準備中です。数秒後にもう一度お試しください。
