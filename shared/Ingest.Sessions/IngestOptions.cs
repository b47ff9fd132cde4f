using System.ComponentModel.DataAnnotations;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// Ingest settings (configuration section "Ingest"), the same for every protocol. Per-tenant limits are under Tenants:*.
/// The per-connection memory these bound is worked out in docs/reliability.md ("Ingest limits").
/// </summary>
public sealed class IngestOptions : IValidatableObject
{
    public const string Section = "Ingest";

    /// <summary>
    /// Largest WebSocket message of a started call, and the size of its receive buffer. Live platforms send 20 ms (320 bytes
    /// of 8 kHz stereo μ-law); 128 KiB holds 2 s of 8 kHz stereo PCM16, and lets a protocol's own text limit (AudioHook's
    /// 64 KiB) answer first, in the protocol's words.
    /// </summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 128 * 1024;

    /// <summary>A call whose client sends no whole message for this long is closed (4408) and its streams ended.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Samples per published chunk at 8 kHz: 1600 = 200 ms.</summary>
    [Range(80, 80000)]
    public int ChunkSamples { get; set; } = 1600;

    /// <summary>WebSocket connections one instance holds at once (all protocols); one more gets HTTP 503 before the upgrade.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 500;

    /// <summary>
    /// How far a call's audio may run ahead of the tenant's <c>MaxRealTimeFactor</c> times the wall time since its start
    /// before the call is closed (4430): room for a platform catching up after a network stall.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RealTimeBurst { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A call whose connection dropped, or that was handed over by a draining instance, can be resumed (a start with the
    /// same call id, on any instance) for this long; then its streams are ended.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ResumeWindow { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>After a draining instance asked a client to reconnect, how long it waits for the client's close before closing itself.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan HandOverGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Lifetime of a live call's claim in the call registry (Redis); renewed every third of it while the call streams.</summary>
    [Range(typeof(TimeSpan), "00:00:03", "00:10:00")]
    public TimeSpan ClaimTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an ended call id stays refused (4410): a late reconnect must not restart a finished timeline at position 0.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan EndedCallRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// New calls are refused (1013, try again later) while the pipeline runs more than this behind real time: audio accepted
    /// at ingest to its window stored, the largest over the last 5 s (<see cref="Streaming.Timelines.PipelineLag"/>). Twice
    /// the 500 ms p99 budget: a busy second does not refuse calls, and the calls already admitted are still near their
    /// budget when the refusals start. Calls already streaming go on. Zero turns the check off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RefuseAbovePipelineLag { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Once refusing, new calls are admitted again only when the delay is at or under this (hysteresis).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan AdmitBelowPipelineLag { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>
    /// New calls are also refused while audio arrives at this instance more than this late: the median over its live
    /// sessions of how much later each one's latest audio arrived than at its best in the call. An instance whose CPU
    /// cannot read its sockets in real time (or whose pipeline pushes back) leaves the audio waiting in the network, where
    /// the pipeline's delay above does not see it. Zero turns the check off (a load test that sends faster than real time
    /// and then waits reads as late).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RefuseAboveArrivalDelay { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>Once refusing, new calls are admitted again only when the arrival delay is at or under this (and the pipeline's too).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan AdmitBelowArrivalDelay { get; set; } = TimeSpan.FromSeconds(0.2);

    /// <summary>The host's shutdown timeout that lets a drain finish: hand-over grace, resume window, and time to publish the ends.</summary>
    public TimeSpan ShutdownTimeout => HandOverGrace + ResumeWindow + TimeSpan.FromSeconds(10);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RefuseAbovePipelineLag > TimeSpan.Zero && AdmitBelowPipelineLag > RefuseAbovePipelineLag)
            yield return new ValidationResult($"Ingest:AdmitBelowPipelineLag ({AdmitBelowPipelineLag}) must not exceed Ingest:RefuseAbovePipelineLag ({RefuseAbovePipelineLag})",
                [nameof(AdmitBelowPipelineLag)]);
        if (RefuseAboveArrivalDelay > TimeSpan.Zero && AdmitBelowArrivalDelay > RefuseAboveArrivalDelay)
            yield return new ValidationResult($"Ingest:AdmitBelowArrivalDelay ({AdmitBelowArrivalDelay}) must not exceed Ingest:RefuseAboveArrivalDelay ({RefuseAboveArrivalDelay})",
                [nameof(AdmitBelowArrivalDelay)]);
    }
}
