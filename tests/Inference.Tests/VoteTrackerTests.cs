using Streaming.Inference;

namespace Streaming.Tests.Inference;

public sealed class VoteTrackerTests
{
    private static float[] OneHot(int label, int labels = 4)
    {
        var p = new float[labels];
        p[label] = 1f;
        return p;
    }

    [Fact]
    public void Add_MajorityOfLastK_WinsOverNewestWindow()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority);
        votes.Add(OneHot(0));
        votes.Add(OneHot(0));

        Assert.Equal(0, votes.Add(OneHot(2)));
    }

    [Fact]
    public void Add_TiedLabels_MostRecentWindowWins()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority);
        Assert.Equal(1, votes.Add(OneHot(1)));
        Assert.Equal(3, votes.Add(OneHot(3)));  // 1:1 tie → newest
        Assert.Equal(2, votes.Add(OneHot(2)));  // 1:1:1 tie → newest
    }

    [Fact]
    public void Add_TieWhereNewestIsOutvoted_GoesToMostRecentTiedLabel()
    {
        var votes = new VoteTracker(4, 5, VotingMode.Majority);
        votes.Add(OneHot(0));
        votes.Add(OneHot(0));
        votes.Add(OneHot(1));
        votes.Add(OneHot(1));
        // 0, 0, 1, 1, 2 → 0 and 1 tie at two votes; 1 was seen more recently.
        Assert.Equal(1, votes.Add(OneHot(2)));
    }

    [Fact]
    public void Add_OlderThanK_NoLongerVotes()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority);
        votes.Add(OneHot(0));
        votes.Add(OneHot(0));
        Assert.Equal(0, votes.Add(OneHot(3)));  // 0, 0, 3
        Assert.Equal(3, votes.Add(OneHot(3)));  // the first window dropped out: 0, 3, 3
        Assert.Equal(3, votes.Add(OneHot(1)));                // 3, 3, 1 → 3
    }

    [Fact]
    public void Add_AverageMode_FollowsMeanProbabilityNotVoteCount()
    {
        var majority = new VoteTracker(2, 3, VotingMode.Majority);
        var average = new VoteTracker(2, 3, VotingMode.Average);
        float[][] windows = [[0.9f, 0.1f], [0.4f, 0.6f], [0.4f, 0.6f]];

        int m = 0, a = 0;
        foreach (var p in windows)
        {
            m = majority.Add(p);
            a = average.Add(p);
        }

        Assert.Equal(1, m);  // two windows say 1
        Assert.Equal(0, a);  // mean (0.57, 0.43) says 0
    }

    [Fact]
    public void Add_WrongLength_Throws()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority);
        Assert.Throws<ArgumentException>(() => votes.Add(new float[3]));
    }
}
