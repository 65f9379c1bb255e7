# search messages (en)
problem-search-unavailable = Search is getting ready on this server. Try again in a few seconds.
