# search messages (th)
problem-search-unavailable = ระบบค้นหาของเซิร์ฟเวอร์นี้กำลังเตรียมพร้อม โปรดลองอีกครั้งในอีกสักครู่
