# surveys messages (zh-CN)
