# help messages (ja)
