using Streaming.Contracts;
using Streaming.ServiceDefaults;

namespace Streaming.Tests.Distributed;

/// <summary>The per-instance active streams and calls behind the streaming.stage.active_* gauges.</summary>
public sealed class ActiveStreamsTests
{
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static AudioChunk Chunk(string tenant, string call, string speaker, bool final = false) =>
        new(new StreamKey(tenant, call, speaker), SpeakerRole.Customer, 0, 0, 8000, [], final, default);

    [Fact]
    public void Observe_StreamsOfCallsAndTenants_CountsEachStreamAndCallOnce()
    {
        var active = new ActiveStreams("test", _time);
        active.Observe(Chunk("t1", "c1", "customer"));
        active.Observe(Chunk("t1", "c1", "customer"));
        active.Observe(Chunk("t1", "c1", "agent"));
        active.Observe(Chunk("t2", "c1", "customer")); // same call id, another tenant: another call

        Assert.Equal(3, active.Streams);
        Assert.Equal(2, active.Calls);
    }

    [Fact]
    public void Observe_FinalMessages_EndStreamsAndTheirCall()
    {
        var active = new ActiveStreams("test", _time);
        active.Observe(Chunk("t1", "c1", "customer"));
        active.Observe(Chunk("t1", "c1", "agent"));

        active.Observe(Chunk("t1", "c1", "customer", final: true));
        Assert.Equal((1, 1), (active.Streams, active.Calls));
        active.Observe(Chunk("t1", "c1", "agent", final: true));
        Assert.Equal((0, 0), (active.Streams, active.Calls));
    }

    [Fact]
    public void DropCall_PartitionMoved_ForgetsTheCallOfEveryTenant()
    {
        var active = new ActiveStreams("test", _time);
        active.Observe(Chunk("t1", "c1", "customer"));
        active.Observe(Chunk("t2", "c1", "customer"));
        active.Observe(Chunk("t1", "c2", "customer"));

        active.DropCall("c1");

        Assert.Equal((1, 1), (active.Streams, active.Calls));
    }

    [Fact]
    public void Streams_QuietLongerThanIdleTimeout_NoLongerCounted()
    {
        var active = new ActiveStreams("test", _time);
        active.Observe(Chunk("t1", "quiet", "customer"));
        _time.Advance(ActiveStreams.IdleTimeout / 2);
        active.Observe(Chunk("t1", "busy", "customer"));
        _time.Advance(ActiveStreams.IdleTimeout / 2 + TimeSpan.FromSeconds(11));

        Assert.Equal((1, 1), (active.Streams, active.Calls));
    }
}
