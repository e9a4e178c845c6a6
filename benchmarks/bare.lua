wrk.method = "POST"
wrk.path = "/insert"
wrk.body = "q_satisfaction=4&q_again=yes"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
