using System.ComponentModel.DataAnnotations;
using Confluent.Kafka;
using StackExchange.Redis;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;
using Streaming.Timelines.Redis;

namespace Streaming.Tests.Distributed;

/// <summary>
/// TLS and passwords on the real servers: the 0.9 broker's SSL listener and a redis-server with TLS and requirepass,
/// both with the throwaway CA scripts/servers.sh generates. SASL cannot run here (0.9 has only GSSAPI), so its
/// settings are checked by validation.
/// </summary>
public sealed class SecureTransportTests
{
    [Fact]
    public async Task KafkaStageHost_SslListenerWithCa_MessagesFlowOverTls()
    {
        var topic = TestServers.Unique("tls");
        var options = TestServers.Kafka();
        options.BootstrapServers = TestServers.KafkaSslBootstrap;
        options.SecurityProtocol = SecurityProtocol.Ssl;
        options.SslCaLocation = TestServers.TlsFile("TLS_CA");
        Assert.Empty(Problems(options));
        await TestServers.CreateTopicAsync(topic);
        await using var bus = new KafkaBus(options);
        var stage = new RecordingStage<AudioChunk>();

        await using (bus.Run(topic, TestServers.Unique("g"), AudioChunkCodec.Instance, stage))
        {
            var sink = bus.Sink(topic, AudioChunkCodec.Instance);
            for (var i = 0; i < 5; i++) await sink.PublishAsync(BusContractTests.Chunk("tls", "customer", i, i == 4), CancellationToken.None);
            await bus.FlushAsync();
            await Wait.UntilAsync(() => stage.Count >= 5, "the 5 chunks over TLS");
        }

        Assert.Equal([0L, 1, 2, 3, 4], stage.Received.Select(c => c.Sequence));
    }

    [Fact]
    public void KafkaOptions_SecuritySettings_ClientConfigCarriesThem()
    {
        var options = new KafkaOptions
        {
            BootstrapServers = "kafka:9093",
            SecurityProtocol = SecurityProtocol.SaslSsl,
            SaslMechanism = SaslMechanism.ScramSha512,
            SaslUsername = "speech-emotion",
            SaslPassword = "from-a-secret",
        };
        Assert.Empty(Problems(options));

        foreach (ClientConfig config in new ClientConfig[] { options.ProducerConfig(), options.ConsumerConfig("g") })
        {
            Assert.Equal(SecurityProtocol.SaslSsl, config.SecurityProtocol);
            Assert.Equal(SaslMechanism.ScramSha512, config.SaslMechanism);
            Assert.Equal("speech-emotion", config.SaslUsername);
            Assert.Equal("from-a-secret", config.SaslPassword);
            Assert.Equal(SslEndpointIdentificationAlgorithm.Https, config.SslEndpointIdentificationAlgorithm);
        }
    }

    [Theory]
    [InlineData(SecurityProtocol.SaslSsl, null, "needs Kafka:SaslMechanism")]
    [InlineData(SecurityProtocol.Plaintext, SaslMechanism.Plain, "needs Kafka:SecurityProtocol SaslPlaintext or SaslSsl")]
    [InlineData(SecurityProtocol.SaslSsl, SaslMechanism.ScramSha256, "needs Kafka:SaslUsername")]
    [InlineData(SecurityProtocol.SaslPlaintext, SaslMechanism.OAuthBearer, "needs Kafka:SaslOauthbearerTokenEndpointUrl")]
    public void KafkaOptions_IncompleteSasl_RejectedNamingTheSetting(SecurityProtocol protocol, SaslMechanism? mechanism, string expected)
    {
        var options = new KafkaOptions { BootstrapServers = "kafka:9093", SecurityProtocol = protocol, SaslMechanism = mechanism };
        Assert.Contains(Problems(options), p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void KafkaOptions_MissingCaFileOrSaslOnLegacyBroker_Rejected()
    {
        var missing = new KafkaOptions { BootstrapServers = "kafka:9093", SecurityProtocol = SecurityProtocol.Ssl, SslCaLocation = "/nonexistent/ca.crt" };
        Assert.Contains(Problems(missing), p => p.Contains("'/nonexistent/ca.crt' does not exist", StringComparison.Ordinal));
        var legacy = new KafkaOptions
        {
            BootstrapServers = "kafka:9093", LegacyBroker09 = true, SecurityProtocol = SecurityProtocol.SaslSsl,
            SaslMechanism = SaslMechanism.Plain, SaslUsername = "u", SaslPassword = "p",
        };
        Assert.Contains(Problems(legacy), p => p.Contains("0.9 brokers support no SASL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RedisTimelineStore_TlsAndPassword_StoresAndReadsBack()
    {
        await using var redis = await PrivateRedis.StartAsync(tls: true, password: "test-password");
        var options = new RedisOptions
        {
            Configuration = redis.Endpoint,
            Password = "test-password",
            Tls = true,
            CaCertificatePath = TestServers.TlsFile("TLS_CA"),
        };
        Assert.Empty(Problems(options));
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(options.ToConfigurationOptions());
        var store = new RedisTimelineStore(multiplexer, options, new ManualTime(TimelineStoreContractTests.EventBase));

        await store.AppendAsync(TimelineStoreContractTests.Window("secure", "customer", 0), default);

        var call = await store.GetCallAsync(StreamKey.DefaultTenant, "secure", default);
        Assert.NotNull(call);
    }

    [Theory]
    [InlineData("wrong-password", true)]
    [InlineData("test-password", false)]
    public async Task Connect_WrongPasswordOrUntrustedCertificate_Refused(string password, bool trustCa)
    {
        await using var redis = await PrivateRedis.StartAsync(tls: true, password: "test-password");
        var options = new RedisOptions
        {
            Configuration = redis.Endpoint + ",connectTimeout=2000",
            Password = password,
            Tls = true,
            CaCertificatePath = trustCa ? TestServers.TlsFile("TLS_CA") : null,
        };

        await Assert.ThrowsAsync<RedisConnectionException>(async () => await ConnectionMultiplexer.ConnectAsync(options.ToConfigurationOptions()));
    }

    [Fact]
    public void RedisOptions_CaWithoutTls_Rejected()
    {
        var options = new RedisOptions { Configuration = "redis:6379", CaCertificatePath = TestServers.TlsFile("TLS_CA") };
        Assert.Contains(Problems(options), p => p.Contains("Redis:Tls is off", StringComparison.Ordinal));
    }

    private static List<string> Problems(object options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage ?? "").ToList();
    }
}
