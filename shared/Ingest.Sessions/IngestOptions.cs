using System.ComponentModel.DataAnnotations;

namespace Streaming.Ingest.Sessions;

/// <summary>Ingest settings (configuration section "Ingest"), the same for every protocol. Per-tenant limits are under Tenants:*.</summary>
public sealed class IngestOptions
{
    public const string Section = "Ingest";

    /// <summary>Largest WebSocket message accepted: 1 s of 8-channel 48 kHz PCM16 is 768 KB; live platforms send 20 ms.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>A call that sends nothing for this long is closed (4408) and its streams ended.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Samples per published chunk at 8 kHz: 1600 = 200 ms.</summary>
    [Range(80, 80000)]
    public int ChunkSamples { get; set; } = 1600;
}
