# privacy messages (zh-TW)
