import Uplink

extension UplinkPipeline {
    /// The pipeline a config describes: its routes, registry, codecs, windows and clock-skew limit.
    public init(config: GatewayConfig) {
        self.init(subscriptions: config.subscriptions, registry: config.registry, catalog: config.catalog, windows: config.windows,
                  maxClockSkewMillis: config.maxClockSkewMillis, maxBackfillMillis: config.maxBackfillMillis)
    }
}
