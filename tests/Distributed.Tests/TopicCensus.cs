using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>
/// What a topic holds of some calls, stream by stream, in the order a consumer of each partition reads it: for a failed
/// fault-matrix cell, where the stream went wrong (a stage's input already missing messages, messages out of order, or a stage
/// that numbered its output differently from its input). Reads the whole topic from the start with a group of its own.
/// </summary>
internal static class TopicCensus
{
    /// <summary>
    /// One message as read: where it was, its sequence, the position it claims in its stream (samples or frames), a hash of its
    /// content (copies of a sequence must be equal) and what to print of it when they are not.
    /// </summary>
    private sealed record Entry(int Partition, long Offset, long Sequence, long Position, int Count, bool IsFinal, int Hash, string What);

    /// <summary>Audio chunks: each stream's sequences in read order, gaps, reorders, and positions that do not follow from the sequence.</summary>
    public static string AudioChunks(KafkaOptions options, string topic, IReadOnlySet<string> calls, int chunkSamples) =>
        Describe(Read(options, topic, AudioChunkCodec.Instance, calls, c => (c.Stream, new Entry(0, 0, c.Sequence, c.StartSample, c.Samples.Length, c.IsFinal, Hash(c.Samples), $"{c.Samples.Length} samples from {c.StartSample}")), out var read),
            read, topic, sequence => sequence * chunkSamples);

    /// <summary>
    /// Feature frames: as <see cref="AudioChunks"/>; a message's first frame must be the frames that the stream's samples up to its
    /// chunk's start complete (the featurizer numbers its output by the chunk it came from).
    /// </summary>
    public static string FeatureFrames(KafkaOptions options, string topic, IReadOnlySet<string> calls, FeatureConfig config, int chunkSamples) =>
        Describe(Read(options, topic, FeatureFramesCodec.Instance, calls, f => (f.Stream, new Entry(0, 0, f.Sequence, f.FirstFrame, f.FrameCount, f.IsFinal, HashCode.Combine(f.FirstFrame, Hash(f.LogMel)), $"{f.FrameCount} frames from {f.FirstFrame}")), out var read),
            read, topic, sequence =>
            {
                var samples = sequence * (long)chunkSamples;
                return samples < config.WindowLength ? 0 : (samples - config.WindowLength) / config.HopLength + 1;
            });

    /// <summary>Emotion windows by index: copies must be equal (the store keeps the first one), listed when they are not.</summary>
    public static string EmotionWindows(KafkaOptions options, string topic, IReadOnlySet<string> calls) =>
        Describe(Read(options, topic, EmotionWindowCodec.Instance, calls, w => (w.Stream, new Entry(0, 0, w.Index, w.Index, 1, w.IsFinal,
                HashCode.Combine(w.Label, w.VotedLabel, w.Confidence, Hash(w.Probabilities), w.IsFinal),
                string.Create(CultureInfo.InvariantCulture, $"{w.Label}/{w.VotedLabel} {w.Confidence:0.000000}{(w.IsFinal ? " final" : "")}"))), out var read),
            read, topic, index => index);

    private static int Hash(float[] values)
    {
        var hash = new HashCode();
        hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return hash.ToHashCode();
    }

    private static Dictionary<StreamKey, List<Entry>> Read<T>(KafkaOptions options, string topic, IMessageCodec<T> codec, IReadOnlySet<string> calls,
        Func<T, (StreamKey Stream, Entry Entry)> entry, out long read)
    {
        var config = options.ConsumerConfig(TestServers.Unique("census"));
        config.EnablePartitionEof = true;
        config.EnableAutoCommit = false;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler(KafkaLog.Write).Build();
        consumer.Subscribe(topic);
        var streams = new Dictionary<StreamKey, List<Entry>>();
        var ended = new HashSet<int>();
        // Bounded, also when the broker is gone (a run that failed mid-outage): nothing assigned within 20 s ends the read.
        var started = DateTime.UtcNow;
        read = 0;
        while (DateTime.UtcNow < started.AddSeconds(120) && (ended.Count == 0 || ended.Count < consumer.Assignment.Count))
        {
            if (consumer.Assignment.Count == 0 && DateTime.UtcNow > started.AddSeconds(20)) break;
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is not { } result) continue;
            if (result.IsPartitionEOF)
            {
                ended.Add(result.Partition.Value);
                continue;
            }
            read++;
            ended.Remove(result.Partition.Value);
            if (result.Message.Key is not { } key || !calls.Contains(Encoding.UTF8.GetString(key))) continue;
            var (stream, e) = entry(codec.Decode(result.Message.Value, out _));
            if (!streams.TryGetValue(stream, out var list)) streams[stream] = list = [];
            list.Add(e with { Partition = result.Partition.Value, Offset = result.Offset.Value });
        }
        consumer.Close();
        return streams;
    }

    /// <param name="expectedPosition">where the message of a sequence must start in its stream</param>
    private static string Describe(Dictionary<StreamKey, List<Entry>> streams, long read, string topic, Func<long, long> expectedPosition)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{topic}: {read} messages read\n");
        foreach (var (stream, entries) in streams.OrderBy(s => s.Key.CallId, StringComparer.Ordinal).ThenBy(s => s.Key.Speaker, StringComparer.Ordinal))
        {
            var seen = new Dictionary<long, Entry>();
            var duplicates = 0;
            var last = -1L;
            var notes = new List<string>();
            foreach (var e in entries)
            {
                if (seen.TryGetValue(e.Sequence, out var first))
                {
                    duplicates++; // a copy: the next stage skips it by its sequence
                    if (first.Hash != e.Hash)
                        notes.Add(string.Create(CultureInfo.InvariantCulture, $"#{e.Sequence} differs: [{e.Partition}]@{e.Offset} {e.What}, first copy [{first.Partition}]@{first.Offset} {first.What}"));
                    continue;
                }
                seen[e.Sequence] = e;
                // the first copy of a sequence that does not follow the highest one read so far: a gap (later ones first) or a late one
                if (e.Sequence != last + 1) notes.Add(string.Create(CultureInfo.InvariantCulture, $"#{e.Sequence} after #{last} at [{e.Partition}]@{e.Offset}"));
                if (e.Sequence > last) last = e.Sequence;
                if (e.Position != expectedPosition(e.Sequence))
                    notes.Add(string.Create(CultureInfo.InvariantCulture, $"#{e.Sequence} at position {e.Position}, expected {expectedPosition(e.Sequence)} ([{e.Partition}]@{e.Offset})"));
            }
            var missing = Enumerable.Range(0, (int)(last + 1)).Select(s => (long)s).Where(s => !seen.ContainsKey(s)).ToList();
            text.Append(CultureInfo.InvariantCulture, $"  {stream}: {entries.Count} messages, sequences 0..{last} ({seen.Count} distinct, {duplicates} copies again, {missing.Count} missing{(missing.Count > 0 ? $": {Ranges(missing)}" : "")}), final {entries.Any(e => e.IsFinal)}");
            text.Append(notes.Count == 0 ? "; in order, copies equal\n" : $"; {string.Join("; ", notes.Take(60))}\n");
        }
        return text.ToString();
    }

    /// <summary>Numbers as ranges: "3-7,12".</summary>
    public static string Ranges(IEnumerable<long> values)
    {
        var parts = new List<string>();
        long? first = null, last = null;
        foreach (var value in values.Order())
        {
            if (last is { } previous && value == previous + 1)
            {
                last = value;
                continue;
            }
            if (first is not null) parts.Add(first == last ? $"{first}" : $"{first}-{last}");
            first = last = value;
        }
        if (first is not null) parts.Add(first == last ? $"{first}" : $"{first}-{last}");
        return string.Join(",", parts);
    }
}
