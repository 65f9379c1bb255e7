# help messages (en)
