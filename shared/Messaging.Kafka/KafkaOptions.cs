using System.ComponentModel.DataAnnotations;
using Confluent.Kafka;

namespace Streaming.Messaging.Kafka;

/// <summary>Kafka settings shared by every service (configuration section "Kafka").</summary>
public sealed class KafkaOptions : IValidatableObject
{
    public const string Section = "Kafka";

    /// <summary>host:port[,host:port...]</summary>
    [Required(AllowEmptyStrings = false)]
    public string BootstrapServers { get; set; } = "";

    /// <summary>
    /// The one switch for Apache Kafka 0.9 (the broker the tests run on): no ApiVersionRequest, no headers,
    /// no idempotent producer, lz4 instead of zstd. Off (production, Kafka 3.x/4.x): idempotence, zstd,
    /// and the envelope mirrored into headers for tools that read headers.
    /// </summary>
    public bool LegacyBroker09 { get; set; }

    [Required(AllowEmptyStrings = false)]
    public string ClientId { get; set; } = "streaming";

    /// <summary>0.9 brokers cap sessions at 30 s unless group.max.session.timeout.ms is raised; 10 s notices a dead consumer quickly.</summary>
    [Range(1000, 300000)]
    public int SessionTimeoutMs { get; set; } = 10000;

    [Required(AllowEmptyStrings = false)]
    public string DeadLetterTopic { get; set; } = DeadLetter.Topic;

    /// <summary>
    /// Prefixed to every topic and consumer group name the services use: lets several pipelines (environments,
    /// tests) share one cluster. Empty in production.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9._-]*$", ErrorMessage = "Kafka:Namespace may hold only A-Z a-z 0-9 . _ -")]
    public string Namespace { get; set; } = "";

    public string Topic(string name) => Namespace + name;

    public string Group(string name) => Namespace + name;

    /// <summary>Messages handed to the stage at once: whatever is ready, up to this many.</summary>
    [Range(1, 10000)]
    public int MaxBatch { get; set; } = 64;

    /// <summary>Producer linger: a few ms batches the many small messages of many calls into one request.</summary>
    [Range(0, 1000)]
    public int LingerMs { get; set; } = 5;

    /// <summary>Partitions of the topics this service creates at start-up (modern brokers only; 0.9 topics come from the broker or script).</summary>
    [Range(1, 1000)]
    public int Partitions { get; set; } = 4;

    /// <summary>Create the service's topics at start-up through the AdminClient (modern brokers only).</summary>
    public bool CreateTopics { get; set; } = true;

    /// <summary>
    /// How long the producer tries to deliver a message before reporting it failed (librdkafka message.timeout.ms).
    /// A stage host then sends its batch's outbox again (nothing is lost); ingest closes the call with 1011.
    /// </summary>
    [Range(1000, 3_600_000)]
    public int DeliveryTimeoutMs { get; set; } = 300_000;

    /// <summary>
    /// Most the producer holds unacknowledged (librdkafka queue.buffering.max.kbytes; its default, 1 GiB, is more than a
    /// pod's memory). When it is full, publishing waits: ingest sessions stop reading their sockets, so TCP pushes back on
    /// the platforms while the broker is away (docs/reliability.md, "Ingest limits").
    /// </summary>
    [Range(1024, 2_097_151)]
    public int ProducerQueueKbytes { get; set; } = 64 * 1024;

    /// <summary>
    /// A stage host whose consumer has had no group coordinator for this long builds a new one from
    /// <see cref="BootstrapServers"/> (<see cref="KafkaStageHost{T}"/>): librdkafka drops every broker a Metadata response does
    /// not list, and a one-broker cluster's broker that is starting lists none, which can leave a client without any broker
    /// for good (librdkafka issue #5301). Longer than a broker restart or a coordinator move takes.
    /// </summary>
    [Range(5, 3600)]
    public int StalledConsumerSeconds { get; set; } = 60;

    /// <summary>Seconds between retries of a batch whose processing failed for a reason other than the message (e.g. Redis down).</summary>
    [Range(0.01, 60)]
    public double RetryBackoffSeconds { get; set; } = 1;

    // Transport security, passed through to librdkafka for the producer, the consumers and the admin client alike.
    // Secret values (SaslPassword, SaslOauthbearerClientSecret, SslKeyPassword) come from the environment
    // (Kafka__SaslPassword, in Kubernetes from a Secret), never from appsettings.json or a ConfigMap.

    /// <summary>Plaintext (the default; the test broker), Ssl, SaslPlaintext or SaslSsl.</summary>
    public SecurityProtocol SecurityProtocol { get; set; } = SecurityProtocol.Plaintext;

    /// <summary>Plain, ScramSha256, ScramSha512 or OAuthBearer; required with the SASL protocols.</summary>
    public SaslMechanism? SaslMechanism { get; set; }

    public string? SaslUsername { get; set; }

    public string? SaslPassword { get; set; }

    /// <summary>OAuthBearer tokens from an OpenID Connect provider (client credentials grant), refreshed by librdkafka.</summary>
    public string? SaslOauthbearerTokenEndpointUrl { get; set; }

    public string? SaslOauthbearerClientId { get; set; }

    public string? SaslOauthbearerClientSecret { get; set; }

    public string? SaslOauthbearerScope { get; set; }

    /// <summary>PEM file of the CA that signed the brokers' certificates (default: the system's trust store).</summary>
    public string? SslCaLocation { get; set; }

    /// <summary>PEM client certificate and key, for brokers that authenticate clients by certificate (mutual TLS).</summary>
    public string? SslCertificateLocation { get; set; }

    public string? SslKeyLocation { get; set; }

    public string? SslKeyPassword { get; set; }

    /// <summary>Check that the broker's certificate names the host connected to (on by default; off only for tests with IP-only certificates).</summary>
    public bool SslEndpointIdentification { get; set; } = true;

    private bool UsesSasl => SecurityProtocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl;

    private bool UsesSsl => SecurityProtocol is SecurityProtocol.Ssl or SecurityProtocol.SaslSsl;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var server in BootstrapServers.Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = server.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(server[(colon + 1)..], out var port) || port is <= 0 or > 65535)
                yield return new ValidationResult($"Kafka:BootstrapServers entry '{server}' is not host:port", [nameof(BootstrapServers)]);
        }
        if (LegacyBroker09 && SessionTimeoutMs > 30000)
            yield return new ValidationResult($"Kafka:SessionTimeoutMs {SessionTimeoutMs} exceeds the 30000 ms a default 0.9 broker accepts", [nameof(SessionTimeoutMs)]);
        foreach (var problem in SecurityProblems()) yield return new ValidationResult(problem.Message, [problem.Setting]);
    }

    private IEnumerable<(string Setting, string Message)> SecurityProblems()
    {
        if (UsesSasl && SaslMechanism is null)
            yield return (nameof(SaslMechanism), $"Kafka:SecurityProtocol {SecurityProtocol} needs Kafka:SaslMechanism (Plain, ScramSha256, ScramSha512 or OAuthBearer)");
        if (!UsesSasl && SaslMechanism is not null)
            yield return (nameof(SaslMechanism), $"Kafka:SaslMechanism {SaslMechanism} needs Kafka:SecurityProtocol SaslPlaintext or SaslSsl");
        if (UsesSasl && LegacyBroker09)
            yield return (nameof(SecurityProtocol), "Kafka 0.9 brokers support no SASL mechanism but GSSAPI: use Ssl, or turn off Kafka:LegacyBroker09");
        if (UsesSasl && SaslMechanism is Confluent.Kafka.SaslMechanism.Plain or Confluent.Kafka.SaslMechanism.ScramSha256 or Confluent.Kafka.SaslMechanism.ScramSha512)
        {
            if (string.IsNullOrEmpty(SaslUsername)) yield return (nameof(SaslUsername), $"Kafka:SaslMechanism {SaslMechanism} needs Kafka:SaslUsername");
            if (string.IsNullOrEmpty(SaslPassword)) yield return (nameof(SaslPassword), $"Kafka:SaslMechanism {SaslMechanism} needs Kafka:SaslPassword (from a Secret, e.g. the variable Kafka__SaslPassword)");
        }
        if (UsesSasl && SaslMechanism is Confluent.Kafka.SaslMechanism.OAuthBearer
            && (string.IsNullOrEmpty(SaslOauthbearerTokenEndpointUrl) || string.IsNullOrEmpty(SaslOauthbearerClientId) || string.IsNullOrEmpty(SaslOauthbearerClientSecret)))
            yield return (nameof(SaslOauthbearerTokenEndpointUrl), "Kafka:SaslMechanism OAuthBearer needs Kafka:SaslOauthbearerTokenEndpointUrl, Kafka:SaslOauthbearerClientId and Kafka:SaslOauthbearerClientSecret");
        foreach (var (setting, path) in new[] { (nameof(SslCaLocation), SslCaLocation), (nameof(SslCertificateLocation), SslCertificateLocation), (nameof(SslKeyLocation), SslKeyLocation) })
        {
            if (path is null) continue;
            if (!UsesSsl) yield return (setting, $"Kafka:{setting} is set but Kafka:SecurityProtocol {SecurityProtocol} does not use TLS");
            else if (!File.Exists(path)) yield return (setting, $"Kafka:{setting} '{path}' does not exist");
        }
        if ((SslCertificateLocation is null) != (SslKeyLocation is null))
            yield return (nameof(SslKeyLocation), "Kafka:SslCertificateLocation and Kafka:SslKeyLocation go together (mutual TLS)");
    }

    /// <summary>The security settings on any librdkafka client configuration (producer, consumer, admin).</summary>
    public void ApplySecurity(ClientConfig config)
    {
        config.SecurityProtocol = SecurityProtocol;
        if (UsesSasl)
        {
            config.SaslMechanism = SaslMechanism;
            if (SaslMechanism == Confluent.Kafka.SaslMechanism.OAuthBearer)
            {
                config.SaslOauthbearerMethod = SaslOauthbearerMethod.Oidc;
                config.SaslOauthbearerTokenEndpointUrl = SaslOauthbearerTokenEndpointUrl;
                config.SaslOauthbearerClientId = SaslOauthbearerClientId;
                config.SaslOauthbearerClientSecret = SaslOauthbearerClientSecret;
                config.SaslOauthbearerScope = SaslOauthbearerScope;
            }
            else
            {
                config.SaslUsername = SaslUsername;
                config.SaslPassword = SaslPassword;
            }
        }
        if (UsesSsl)
        {
            config.SslCaLocation = SslCaLocation;
            config.SslCertificateLocation = SslCertificateLocation;
            config.SslKeyLocation = SslKeyLocation;
            config.SslKeyPassword = SslKeyPassword;
            config.SslEndpointIdentificationAlgorithm = SslEndpointIdentification ? SslEndpointIdentificationAlgorithm.Https : SslEndpointIdentificationAlgorithm.None;
        }
    }

    public ProducerConfig ProducerConfig()
    {
        var config = new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            ClientId = ClientId,
            Acks = Acks.All,
            LingerMs = LingerMs,
            MessageMaxBytes = 16 * 1024 * 1024,
            MessageTimeoutMs = DeliveryTimeoutMs,
            QueueBufferingMaxKbytes = ProducerQueueKbytes,
            // Keep the per-key order on retries: with idempotence librdkafka guarantees it; without, one request in flight does.
            MaxInFlight = LegacyBroker09 ? 1 : 5,
        };
        ApplySecurity(config);
        if (LegacyBroker09)
        {
            ApplyLegacy(config);
            config.EnableIdempotence = false;
            config.CompressionType = CompressionType.Lz4;
        }
        else
        {
            config.EnableIdempotence = true;
            config.CompressionType = CompressionType.Zstd;
        }
        return config;
    }

    public ConsumerConfig ConsumerConfig(string groupId)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            ClientId = ClientId,
            GroupId = groupId,
            // At-least-once: the host stores an offset only after the stage's effect is durable; librdkafka commits
            // the stored offsets in the background and on revoke/close.
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            AutoCommitIntervalMs = 1000,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            SessionTimeoutMs = SessionTimeoutMs,
            HeartbeatIntervalMs = Math.Max(250, SessionTimeoutMs / 5),
            FetchMaxBytes = 32 * 1024 * 1024,
            MaxPartitionFetchBytes = 16 * 1024 * 1024,
            // Feeds the health check: broker connection states every 5 s.
            StatisticsIntervalMs = 5000,
        };
        ApplySecurity(config);
        if (LegacyBroker09) ApplyLegacy(config);
        return config;
    }

    private static void ApplyLegacy(ClientConfig config)
    {
        config.ApiVersionRequest = false;
        config.BrokerVersionFallback = "0.9.0.1";
    }
}
