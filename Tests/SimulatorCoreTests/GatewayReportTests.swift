import SimulatorCore
import Testing

@Suite struct GatewayReportTests {
    static let before = """
        # TYPE citygate_uplinks_committed_total counter
        citygate_uplinks_committed_total 10
        citygate_uplinks_duplicate_total{stage="frame"} 1
        citygate_uplinks_duplicate_total{stage="redelivery"} 2
        citygate_uplink_ingest_latency_seconds_bucket{le="0.01"} 10
        citygate_uplink_ingest_latency_seconds_bucket{le="0.1"} 10
        citygate_uplink_ingest_latency_seconds_bucket{le="1.0"} 10
        citygate_uplink_ingest_latency_seconds_bucket{le="+Inf"} 10
        """
    static let after = """
        citygate_uplinks_committed_total 110
        citygate_uplinks_received_total 113
        citygate_uplinks_duplicate_total{stage="frame"} 1
        citygate_uplinks_duplicate_total{stage="redelivery"} 5
        citygate_uplinks_quarantined_total{reason="implausible"} 4
        citygate_uplinks_pending 0
        citygate_uplink_ingest_latency_seconds_bucket{le="0.01"} 60
        citygate_uplink_ingest_latency_seconds_bucket{le="0.1"} 100
        citygate_uplink_ingest_latency_seconds_bucket{le="1.0"} 110
        citygate_uplink_ingest_latency_seconds_bucket{le="+Inf"} 110
        """

    @Test func theRunsShareAndItsLatencyQuantiles() throws {
        let run = GatewaySnapshot.delta(GatewaySnapshot.parse(Self.after), GatewaySnapshot.parse(Self.before))
        #expect(run.committed == 100 && run.redeliveries == 3 && run.frameDuplicates == 0 && run.quarantined == 4)
        // 100 samples: 50 under 10 ms, 40 in 10..100 ms, 10 in 100..1000 ms.
        #expect(try #require(run.latencyQuantileMillis(0.5)) == 10)
        #expect(abs(try #require(run.latencyQuantileMillis(0.9)) - 100) < 1e-9)
        #expect(abs(try #require(run.latencyQuantileMillis(0.99)) - 910) < 1e-9)
        #expect(run.latencyMaxMillis == 1000)
        #expect(GatewaySnapshot().latencyQuantileMillis(0.5) == nil)
    }

    /// A load run waits until the gateway keeps every distinct uplink, decoded.
    /// After a broker restart in CI the gateway had committed 2,209 of 3,000
    /// with 841 redeliveries besides: counting messages (committed plus
    /// redeliveries) ended the wait there and reported 791 lost.
    @Test func theWaitCountsDistinctUplinksNotCopies() {
        var run = GatewaySnapshot()
        run.committed = 2209
        run.redeliveries = 841
        run.processed = 2209
        #expect(!run.keeps(3000), "copies are not uplinks")
        run.committed = 3060
        run.frameDuplicates = 50
        run.events = 10
        run.processed = 3000
        #expect(run.distinctUplinks == 3000)
        #expect(!run.keeps(3000), "not every committed uplink decoded yet")
        run.processed = 3060
        #expect(run.keeps(3000))
        #expect(!run.keeps(3001))
    }

    @Test func samplesThatAreNotCountsAreIgnored() {
        let snapshot = GatewaySnapshot.parse("citygate_uplinks_committed_total NaN\ncitygate_uplinks_received_total +Inf\ncitygate_uplinks_quarantined_total 1e300\ngarbage\ncitygate_uplinks_pending 3\n")
        #expect(snapshot.committed == 0 && snapshot.received == 0 && snapshot.quarantined == 0 && snapshot.pending == 3)
    }
}
