# surveys messages (zh-TW)
