# privacy messages (zh-CN)
