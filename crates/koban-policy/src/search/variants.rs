//! Chinese and Japanese character variants folded together for search, so
//! a query in traditional characters (Taiwan: `密碼`, `帳號`) finds text in
//! simplified ones (`密码`, `账号`) and back, and Japanese shinjitai
//! (`認証`, `登録`) meet both. Index and query fold alike, so a fold only
//! ever merges; it never hides a character from itself.
//!
//! Not a full OpenCC table: about 400 characters common in support and
//! account-security text. A character outside it matches only itself, so
//! a rare traditional character finds only traditional text. Folding is
//! character by character: words that differ between regions (`軟體` and
//! `软件`, `網路` and `网络`) still differ, and only their shared
//! characters meet.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Pairs of (variant, the character it folds to), written one after the other.
const PAIRS: &str = "\
碼码號号帳账賬账帐账戶户戸户設设驗验證证証证認认錄录録录無无問问題题電电話话\
發发裝装網网絡络訊讯應应體体軟软鎖锁凍冻結结開开關关異异請请幫帮進进購购\
買买賣卖單单訂订費费錢钱銀银貨货幣币錯错誤误擊击點点機机換换舊旧備备復复還还\
實实際际時时間间傳传輸输載载檔档圖图視视頻频語语歷历紀纪條条頁页顯显聯联繫系\
係系郵邮簡简內内權权個个資资隱隐區区國国臺台灣湾東东會会員员確确變变註注冊册\
類类別别級级優优務务門门為为麼么這这裡里裏里們们說说讀读寫写聽听見见覺觉對对\
與与從从後后過过樣样當当經经給给讓让動动態态狀状況况處处辦办報报價价兩两萬万\
億亿長长廣广場场歲岁專专業业產产車车馬马義义習习學学寶宝貴贵戰战爭争氣气線线\
紅红綠绿藍蓝黃黄階阶隊队陽阳陰阴雲云離离難难風风飛飞飯饭館馆頭头顏颜額额預预\
領领願愿須须順顺項项總总統统繼继續续維维紙纸組组細细終终約约納纳綁绑編编輯辑\
轉转連连運运遠远選选遺遗邊边鐘钟鍵键錶表鑰钥閉闭閱阅陸陆險险隨随雙双雜杂靜静\
頂顶顧顾餘余髮发鬆松齊齐驅驱騙骗詐诈盜盗竊窃駭骇憑凭據据護护鄰邻償偿歸归彈弹\
強强幾几廳厅庫库張张徵征惡恶憶忆戲戏掃扫揮挥損损搖摇擔担擇择擴扩攝摄敗败數数\
斷断暫暂書书極极標标樓楼橫横檢检歡欢殘残殺杀毀毁決决沒没測测試试滅灭滿满漢汉\
潔洁熱热燈灯營营爾尔獎奖環环現现畫画療疗盡尽監监盤盘礙碍禮礼種种稱称穩稳筆笔\
範范簽签籤签紋纹絕绝緊紧緒绪練练縮缩績绩繳缴罰罚聲声腦脑臉脸興兴舉举藥药蘋苹\
衛卫補补製制複复襲袭規规親亲覽览觀观計计討讨訓训記记訪访許许評评詞词詳详誌志\
課课調调談谈論论諮咨謝谢識识譯译議议負负財财責责貼贴賠赔賴赖賺赚贈赠跡迹較较\
輕轻輔辅輪轮辭辞週周達达違违適适遲迟鄉乡醫医針针鈴铃鏈链閃闪陳陈雖虽靈灵韓韩\
飾饰養养騰腾髒脏黨党齡龄変变駅驿広广転转売卖読读関关図图単单伝传歳岁気气団团\
専专総总続续検检険险験验効效応应経经権权処处発发様样対对楽乐労劳営营覧览軽轻\
鉄铁銭钱遅迟聴听圧压齢龄済济帰归悪恶拡扩";

fn table() -> &'static HashMap<char, char> {
    static TABLE: OnceLock<HashMap<char, char>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let chars: Vec<char> = PAIRS.chars().collect();
        chars.chunks_exact(2).map(|p| (p[0], p[1])).collect()
    })
}

/// The character `c` folds to for search (itself when the table has none).
pub fn fold_han(c: char) -> char {
    if (c as u32) < 0x3400 {
        return c;
    }
    table().get(&c).copied().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_whole_and_fold_to_a_fixed_point() {
        let chars: Vec<char> = PAIRS.chars().collect();
        assert_eq!(chars.len() % 2, 0, "a pair lost its partner");
        for pair in chars.chunks_exact(2) {
            // Folding what a fold produced changes nothing, so index and
            // query cannot end up one step apart.
            assert_eq!(fold_han(fold_han(pair[0])), fold_han(pair[0]), "{pair:?}");
        }
    }

    #[test]
    fn regions_meet() {
        let fold = |s: &str| s.chars().map(fold_han).collect::<String>();
        assert_eq!(fold("密碼"), fold("密码"));
        assert_eq!(fold("帳號"), fold("账号"));
        assert_eq!(fold("認証"), fold("認證"));
        assert_eq!(fold("認證"), fold("认证"));
        assert_eq!(fold("登録"), fold("登录"));
        assert_eq!(fold("綁定"), fold("绑定"));
        assert_eq!(fold("東京"), "东京");
    }
}
