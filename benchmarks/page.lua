-- A phone opening a page: GET, in Finnish, gzip accepted, no cookies (a first visit).
wrk.method = "GET"
wrk.headers["Accept-Language"] = "fi-FI,fi;q=0.9"
wrk.headers["Accept-Encoding"] = "gzip"
