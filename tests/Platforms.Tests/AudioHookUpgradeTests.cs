using Streaming.Ingest.Sessions;

namespace Streaming.Tests.Platforms;

/// <summary>
/// The AudioHook upgrade request's credentials, checked before any WebSocket exists: every broken rule is an HTTP 401
/// (the published example vector itself is verified in <see cref="AudioHookSignatureTests"/>).
/// </summary>
public sealed class AudioHookUpgradeTests
{
    [Fact]
    public async Task Upgrade_SignedWithTheTenantsSecret_Accepted()
    {
        await using var host = await PlatformHost.StartAsync();
        var (client, status) = await AudioHookClient.TryConnectAsync(host.Url(PlatformEndpoints.AudioHookPath), PlatformHost.AcmeKey, new AudioHookSigning(PlatformHost.AcmeSecret));
        await using var _ = client;
        Assert.Equal(101, status);
    }

    [Fact]
    public async Task Upgrade_UnsignedForATenantWithoutSecret_Accepted()
    {
        await using var host = await PlatformHost.StartAsync();
        var (client, status) = await AudioHookClient.TryConnectAsync(host.Url(PlatformEndpoints.AudioHookPath), PlatformHost.EuBankKey, signing: null);
        await using var _ = client;
        Assert.Equal(101, status);
    }

    public static TheoryData<string> Refusals => ["unsigned", "changed-session-id", "changed-correlation-id", "expired-created", "future-created", "short-nonce", "wrong-secret", "other-tenants-secret", "unknown-key"];

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Upgrade_BrokenCredentials_401BeforeTheUpgrade(string refusal)
    {
        await using var host = await PlatformHost.StartAsync();
        var signing = new AudioHookSigning(PlatformHost.AcmeSecret);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var key = PlatformHost.AcmeKey;
        signing = refusal switch
        {
            "unsigned" => null,
            "changed-session-id" => signing with { ChangedAfterSigning = ("audiohook-session-id", Guid.NewGuid().ToString()) },
            "changed-correlation-id" => signing with { ChangedAfterSigning = ("audiohook-correlation-id", Guid.NewGuid().ToString()) },
            "expired-created" => signing with { Created = now - 60 },
            "future-created" => signing with { Created = now + 60 },
            "short-nonce" => signing with { Nonce = "c2hvcnRub25jZQ" },
            "wrong-secret" => new AudioHookSigning([.. PlatformHost.AcmeSecret.Select(b => (byte)(b ^ 1))]),
            "other-tenants-secret" => new AudioHookSigning(PlatformHost.BetaSecret),
            _ => signing,
        };
        if (refusal == "unknown-key") key = "unknown-api-key-0123456789";

        var (client, status) = await AudioHookClient.TryConnectAsync(host.Url(PlatformEndpoints.AudioHookPath), key, signing);

        Assert.Null(client);
        Assert.Equal(401, status);
        Assert.Equal(0, host.Sinks.Opened);
    }
}
