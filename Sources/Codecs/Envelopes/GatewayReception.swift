extension JSONScanner {
    /// The gateways that heard a frame (ChirpStack `rxInfo`, TTS
    /// `rx_metadata`): an array of objects, of which only `rssi` is read.
    /// Returns how many there were and the best RSSI among them.
    mutating func gatewayReception(_ field: String) throws(EnvelopeError) -> (gateways: Int, bestRSSI: Int?) {
        guard isArray() else { throw .invalidField(field, "expected an array") }
        var gateways = 0
        var best: Int?
        let rssiField = field + ".rssi"  // once, not per gateway: it is built before it is needed
        try array { (s) throws(EnvelopeError) in
            gateways += 1
            guard s.isObject() else { throw .invalidField("\(field)[\(gateways - 1)]", "expected an object") }
            try s.object { (s, key) throws(EnvelopeError) in
                guard key.equals("rssi"), let rssi = try s.integer(rssiField) else { return try s.skipValue() }
                guard let value = Int(exactly: rssi) else { throw .invalidField(rssiField, "out of range") }
                best = max(best ?? value, value)
            }
        }
        return (gateways, best)
    }
}
