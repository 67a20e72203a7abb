import HTTP

extension Call {
    /// `GET /console` and its assets: static files, no credential (the page asks for one
    /// and sends it to the API itself). Query parameters are 400 as on every route.
    func console(_ asset: ConsoleAsset) throws(APIError) {
        try Query(request.query).finish()
        finish(.success(asset.response(ifNoneMatch: request.headers["If-None-Match"])))
    }
}
