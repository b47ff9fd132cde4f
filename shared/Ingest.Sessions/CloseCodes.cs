namespace Streaming.Ingest.Sessions;

/// <summary>
/// Why a session ends, as WebSocket close codes (documented in docs/distributed.md). 1000-1011 are RFC 6455's; 4xxx are
/// this service's, modelled on HTTP statuses so they read at a glance. Protocols with their own vocabulary (AudioHook's
/// disconnect reasons) map these onto it.
/// </summary>
public static class CloseCodes
{
    public const int Normal = 1000;
    public const int InvalidPayload = 1007;    // not JSON, or a binary frame that is not whole samples of every channel
    public const int PolicyViolation = 1008;   // audio before the start message, a second start, text after stop
    public const int TooBig = 1009;            // a message larger than Ingest:MaxMessageBytes
    public const int InternalError = 1011;     // the service could not pass the audio on (Kafka unreachable)
    public const int BadStart = 4400;          // a start message with a missing or invalid field
    public const int WrongTenant = 4403;       // the start message names another tenant than the credentials
    public const int IdleTimeout = 4408;       // the client stopped sending mid-call
    public const int CallInProgress = 4409;    // the tenant's call id is already streaming
    public const int UnknownEncoding = 4415;   // encoding other than pcm16, mulaw, alaw
    public const int TooManySessions = 4429;   // the tenant has Tenants:*:MaxConcurrentSessions calls streaming already
}

/// <summary>A request the session layer refuses: the connection closes with <see cref="Code"/> and this message as reason.</summary>
public sealed class IngestProtocolException(int code, string reason) : Exception(reason)
{
    public int Code { get; } = code;
}
