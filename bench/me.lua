-- GET /api/me with a valid access token (TOKEN env var).
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
