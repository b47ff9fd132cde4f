namespace Streaming.Ingest.Sessions;

/// <summary>
/// Why a session ends, as WebSocket close codes (documented in docs/distributed.md). 1000-1013 are RFC 6455's; 4xxx are
/// this service's, modelled on HTTP statuses so they read at a glance. Protocols with their own vocabulary (AudioHook's
/// disconnect reasons) map these onto it.
/// </summary>
public static class CloseCodes
{
    public const int Normal = 1000;
    public const int Abnormal = 1006;          // never sent: the connection broke without a close handshake (metrics only)
    public const int InvalidPayload = 1007;    // not JSON, or a binary frame that is not whole samples of every channel
    public const int PolicyViolation = 1008;   // audio before the start message, a second start, text after stop
    public const int TooBig = 1009;            // a message larger than Ingest:MaxMessageBytes
    public const int InternalError = 1011;     // the service could not pass the audio on (Kafka unreachable)
    public const int ServiceRestart = 1012;    // the instance drains (rolling restart): reconnect and resume the call
    public const int TryAgainLater = 1013;     // the instance is at Ingest:MaxConnections, or the call registry is unreachable
    public const int BadStart = 4400;          // a start message with a missing or invalid field
    public const int WrongTenant = 4403;       // the start message names another tenant than the credentials
    public const int IdleTimeout = 4408;       // the client stopped sending mid-call
    public const int CallInProgress = 4409;    // the tenant's call id is already streaming (on any instance)
    public const int CallEnded = 4410;         // the tenant's call id ended (stop) less than Ingest:EndedCallRetention ago
    public const int UnknownEncoding = 4415;   // encoding other than pcm16, mulaw, alaw
    public const int TooManySessions = 4429;   // the tenant has Tenants:*:MaxConcurrentSessions calls streaming already
    public const int TooFast = 4430;           // audio faster than Tenants:*:MaxRealTimeFactor for longer than Ingest:RealTimeBurst

    /// <summary>A short name for a close code, for metric tags: one of a fixed set (an unknown code is "other").</summary>
    public static string Name(int code) => code switch
    {
        Normal => "normal",
        Abnormal => "broken",
        InvalidPayload => "invalid_payload",
        PolicyViolation => "policy_violation",
        TooBig => "too_big",
        InternalError => "internal_error",
        ServiceRestart => "service_restart",
        TryAgainLater => "try_again_later",
        BadStart => "bad_start",
        WrongTenant => "wrong_tenant",
        IdleTimeout => "idle_timeout",
        CallInProgress => "call_in_progress",
        CallEnded => "call_ended",
        UnknownEncoding => "unknown_encoding",
        TooManySessions => "too_many_sessions",
        TooFast => "too_fast",
        _ => "other",
    };
}

/// <summary>A request the session layer refuses: the connection closes with <see cref="Code"/> and this message as reason.</summary>
public sealed class IngestProtocolException(int code, string reason) : Exception(reason)
{
    public int Code { get; } = code;
}
