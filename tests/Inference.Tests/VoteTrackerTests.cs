using Streaming.Inference;

namespace Streaming.Tests.Inference;

public sealed class VoteTrackerTests
{
    private const int Unbounded = int.MaxValue;

    private static float[] OneHot(int label, int labels = 4)
    {
        var p = new float[labels];
        p[label] = 1f;
        return p;
    }

    [Fact]
    public void Add_MajorityOfLastK_WinsOverNewestWindow()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority, Unbounded);
        votes.Add(1, OneHot(0));
        votes.Add(2, OneHot(0));

        Assert.Equal(0, votes.Add(3, OneHot(2)));
    }

    [Fact]
    public void Add_TiedLabels_MostRecentWindowWins()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority, Unbounded);
        Assert.Equal(1, votes.Add(4, OneHot(1)));
        Assert.Equal(3, votes.Add(5, OneHot(3)));  // 1:1 tie → newest
        Assert.Equal(2, votes.Add(6, OneHot(2)));  // 1:1:1 tie → newest
    }

    [Fact]
    public void Add_TieWhereNewestIsOutvoted_GoesToMostRecentTiedLabel()
    {
        var votes = new VoteTracker(4, 5, VotingMode.Majority, Unbounded);
        votes.Add(7, OneHot(0));
        votes.Add(8, OneHot(0));
        votes.Add(9, OneHot(1));
        votes.Add(10, OneHot(1));
        // 0, 0, 1, 1, 2 → 0 and 1 tie at two votes; 1 was seen more recently.
        Assert.Equal(1, votes.Add(11, OneHot(2)));
    }

    [Fact]
    public void Add_OlderThanK_NoLongerVotes()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority, Unbounded);
        votes.Add(12, OneHot(0));
        votes.Add(13, OneHot(0));
        Assert.Equal(0, votes.Add(14, OneHot(3)));  // 0, 0, 3
        Assert.Equal(3, votes.Add(15, OneHot(3)));  // the first window dropped out: 0, 3, 3
        Assert.Equal(3, votes.Add(16, OneHot(1)));                // 3, 3, 1 → 3
    }

    [Fact]
    public void Add_AverageMode_FollowsMeanProbabilityNotVoteCount()
    {
        var majority = new VoteTracker(2, 3, VotingMode.Majority, Unbounded);
        var average = new VoteTracker(2, 3, VotingMode.Average, Unbounded);
        float[][] windows = [[0.9f, 0.1f], [0.4f, 0.6f], [0.4f, 0.6f]];

        int m = 0, a = 0;
        for (var i = 0; i < windows.Length; i++)
        {
            m = majority.Add(i, windows[i]);
            a = average.Add(i, windows[i]);
        }

        Assert.Equal(1, m);  // two windows say 1
        Assert.Equal(0, a);  // mean (0.57, 0.43) says 0
    }

    [Fact]
    public void Add_WrongLength_Throws()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority, Unbounded);
        Assert.Throws<ArgumentException>(() => votes.Add(19, new float[3]));
    }

    [Fact]
    public void Add_VoteOlderThanHorizon_Expires()
    {
        var votes = new VoteTracker(4, 3, VotingMode.Majority, horizon: 5);
        votes.Add(0, OneHot(0));
        votes.Add(1, OneHot(0));
        // Windows 2-4 were silence. Within the horizon (windows 1-5) only windows 1 and 5 vote: a 1:1 tie, the newest wins;
        // without the horizon 0, 0, 2 would vote 0.
        Assert.Equal(2, votes.Add(5, OneHot(2)));
    }
}
