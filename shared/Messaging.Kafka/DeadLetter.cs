namespace Streaming.Messaging.Kafka;

/// <summary>
/// A message that could not be decoded or processed, with where it came from and why. The original key and value
/// travel unchanged so it can be inspected or replayed; the reason is inside the value (0.9 drops headers).
/// </summary>
public sealed record DeadLetter(string SourceTopic, int Partition, long Offset, string Reason, byte[]? OriginalKey, byte[]? OriginalValue, DateTimeOffset FailedAt)
{
    public const string Topic = "dead-letter.v1";
}

public sealed class DeadLetterCodec : MessageCodec<DeadLetter>
{
    public static readonly DeadLetterCodec Instance = new();

    public override string Topic => DeadLetter.Topic;

    public override string Key(DeadLetter message) => message.SourceTopic;

    public override long Sequence(DeadLetter message) => message.Offset;

    public override DateTimeOffset EventTime(DeadLetter message) => message.FailedAt;

    private protected override int PayloadSize(DeadLetter m) =>
        PayloadWriter.SizeOf(m.SourceTopic) + 4 + PayloadWriter.SizeOf(m.Reason) + 4 + (m.OriginalKey?.Length ?? 0) + 4 + (m.OriginalValue?.Length ?? 0);

    private protected override void WritePayload(DeadLetter m, ref PayloadWriter writer)
    {
        writer.String(m.SourceTopic);
        writer.Int32(m.Partition);
        writer.String(m.Reason);
        writer.Bytes(m.OriginalKey);
        writer.Bytes(m.OriginalValue);
    }

    private protected override DeadLetter ReadPayload(in Envelope envelope, ref PayloadReader reader) =>
        new(reader.String("sourceTopic"), reader.Int32("partition"), envelope.Sequence, reader.String("reason"),
            reader.Bytes("originalKey"), reader.Bytes("originalValue"), envelope.EventTime);

    /// <summary>Reasons are free text from exceptions: cut them to what fits a u16-prefixed string.</summary>
    public static string Truncate(string reason) => reason.Length <= 4000 ? reason : reason[..4000] + "…";
}
