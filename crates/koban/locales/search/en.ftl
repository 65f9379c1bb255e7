# search messages (en)
problem-search-unavailable = Search is getting ready on this server. Try again in a few seconds.
nav-search = Search
search-title = Search
search-lead-staff = Search every ticket, conversation, internal note and help article, in any language.
search-lead-requester = Search your requests, the replies you received and the help center.
search-lead-signed-out = Search the help center. Sign in to search your requests too.
search-query-label = Words or a "quoted phrase"
search-submit = Search
search-any = Any
search-filter-kind = Type
search-filter-status = Status
search-filter-category = Category
search-filter-team = Team (its short name)
search-filter-from = Created from
search-filter-to = Created until
search-filter-page = Page
search-kind-ticket = Request
search-kind-message = Reply
search-kind-article = Help article
search-internal-message = Internal note
search-internal-article = Not published
search-results = { $count ->
    [one] 1 result
   *[other] { $count } results
}
search-none = Nothing matches. Try fewer or other words.
search-refused = Please check:
search-previous = ← Previous
search-next = Next →
