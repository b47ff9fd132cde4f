using Streaming.Training;
using Streaming.Training.Data;

namespace Streaming.Tests.Training;

public sealed class CorpusBalanceTests
{
    private static Utterance Row(int line, string corpus) =>
        new(new ManifestRow(line, $"{line}.wav", corpus, $"{corpus}_1", "F", 0, "train", 0), [[]], [0], [(0, 0)]);

    [Fact]
    public void BalancedOrder_SmallAndLargeCorpus_EqualSharesSmallOneFullPasses()
    {
        var train = Enumerable.Range(0, 10).Select(i => Row(i, "small")).Concat(Enumerable.Range(10, 45).Select(i => Row(i, "large"))).ToList();

        var order = Trainer.BalancedOrder(train, passes: 2, new Random(4));

        Assert.Equal(40, order.Length);
        var small = order.Where(i => train[i].Row.Corpus == "small").ToList();
        Assert.Equal(20, small.Count);
        Assert.All(small.GroupBy(i => i), g => Assert.Equal(2, g.Count())); // every small-corpus utterance exactly twice
        var large = order.Where(i => train[i].Row.Corpus == "large").ToList();
        Assert.Equal(20, large.Distinct().Count()); // 20 of 45 drawn, none twice within a round
    }
}
