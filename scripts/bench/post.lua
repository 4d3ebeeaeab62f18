-- wrk: every request a POST with an empty body.
wrk.method = "POST"
