using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;


namespace Tempo.Functional.Tests.Server;

/// <summary>One server for a whole table of hostile requests: each must leave it healthy for the next.</summary>
public sealed class HostileServerFixture : IAsyncLifetime
{
    public const string Key = "s3cret-key";

    internal ServerFixture Open { get; private set; } = null!;

    internal ServerFixture Keyed { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Tempo is the policy whose per-job state a huge stage count used to blow up.
        Open = await ServerFixture.Start(o => o with { Policy = "tempo" });
        Keyed = await ServerFixture.Start(o => o with { ApiKey = Key });
    }

    public async Task DisposeAsync()
    {
        await Open.DisposeAsync();
        await Keyed.DisposeAsync();
    }
}

/// <summary>
/// The hostile-input table: every request gets its status and an OpenAI-style error body, is counted as refused,
/// and the server still answers /health and serves a normal request right after.
/// </summary>
public sealed class HostileInputTests(HostileServerFixture servers) : IClassFixture<HostileServerFixture>
{
    public static TheoryData<HostileCase> OpenCases => [.. HostileCases.Open()];

    public static TheoryData<HostileCase> KeyedCases => [.. HostileCases.Keyed(HostileServerFixture.Key)];

    [Fact]
    public void Table_HasAtLeastOneHundredDistinctCases()
    {
        var all = HostileCases.Open().Concat(HostileCases.Keyed(HostileServerFixture.Key)).ToList();

        Assert.True(all.Count >= 100, $"only {all.Count} cases");
        Assert.Equal(all.Count, all.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [MemberData(nameof(OpenCases))]
    public async Task HostileRequest_OpenServer_RefusedCleanlyAndServerStaysHealthy(HostileCase hostile)
    {
        await Check(servers.Open, hostile, key: null);
    }

    [Theory]
    [MemberData(nameof(KeyedCases))]
    public async Task HostileRequest_KeyedServer_RefusedCleanlyAndServerStaysHealthy(HostileCase hostile)
    {
        await Check(servers.Keyed, hostile, HostileServerFixture.Key);
    }

    [Fact]
    public async Task RightKey_AnyPathSpelling_IsServed()
    {
        foreach (var path in new[] { "/v1/models", "/V1/models" })
        {
            var answer = await RawHttp.SendAsync(servers.Keyed.Server.BaseAddress, "GET", path, null, [("Authorization", "Bearer " + HostileServerFixture.Key)], CancellationToken.None);

            Assert.Equal(200, answer.Status);
        }
    }

    private static async Task Check(ServerFixture f, HostileCase hostile, string? key)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var refusedBefore = Refused(await f.Metrics());

        var answer = await RawHttp.SendAsync(f.Server.BaseAddress, hostile.Method, hostile.Path, hostile.Body, hostile.Headers, timeout.Token);

        Assert.True(hostile.Status == answer.Status, $"{hostile.Name}: expected {hostile.Status}, got {answer.Status}: {answer.Body}");
        Assert.StartsWith("application/json", answer.Headers.GetValueOrDefault("content-type", ""), StringComparison.Ordinal);
        var error = JsonDocument.Parse(answer.Body).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), hostile.Name);
        Assert.Contains(error.GetProperty("type").GetString(), new[] { "invalid_request_error", "rate_limit_error", "server_error" });
        if (hostile.Code is not null)
        {
            Assert.Equal(hostile.Code, error.GetProperty("code").GetString());
        }

        var metrics = await f.Metrics();
        Assert.Equal(refusedBefore + 1, Refused(metrics));
        await AssertServes(f, key);
    }

    internal static async Task AssertServes(ServerFixture f, string? key)
    {
        using var health = await f.Http.GetAsync(new Uri("health", UriKind.Relative));
        Assert.Equal(200, (int)health.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(ServerFixture.ChatBody(maxTokens: 2), Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await f.Http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(f.Server.Engine.Accepting);
    }

    internal static double Refused(Dictionary<string, double> metrics) =>
        metrics.Where(kv => kv.Key.StartsWith("tempo_requests_refused_total", StringComparison.Ordinal)).Sum(kv => kv.Value);
}
