using Confluent.Kafka;

namespace Streaming.Messaging.Kafka;

/// <summary>
/// librdkafka's log lines on stderr, as its default handler writes them, minus the two deprecation warnings that
/// <see cref="KafkaOptions.LegacyBroker09"/> triggers on purpose at every client start: the deprecated settings are
/// the only way to talk to a 0.9 broker, and hundreds of identical lines bury the ones that matter.
/// </summary>
public static class KafkaLog
{
    public static void Write<TClient>(TClient client, LogMessage message)
    {
        if (message.Facility == "CONFWARN" && (message.Message.Contains("api.version.request", StringComparison.Ordinal)
                                               || message.Message.Contains("broker.version.fallback", StringComparison.Ordinal)))
            return;
        Console.Error.WriteLine($"%{(int)message.Level}|{message.Name}|{message.Facility}| {message.Message}");
    }
}
