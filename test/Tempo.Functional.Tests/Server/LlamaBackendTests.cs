using System.ClientModel;
using System.Text;

using OpenAI;
using OpenAI.Chat;

using Tempo.Backends;
using Tempo.Llama;
using Tempo.Server;

namespace Tempo.Functional.Tests.Server;

/// <summary>A tiny random-weight GGUF written once for this class (gibberish text, real llama.cpp compute).</summary>
public sealed class TinyGguf : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempo-server-").FullName;

    public TinyGguf()
    {
        Path = System.IO.Path.Combine(_dir, "tiny.gguf");
        GgufModelWriter.Write(Path, new GgufModelOptions { Layers = 2, Embedding = 64, Vocabulary = 512, Context = 512, Heads = 4, Seed = 11 });
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

/// <summary>The server over a real model: the same endpoints, with llama.cpp doing the steps.</summary>
public sealed class LlamaBackendTests(TinyGguf gguf) : IClassFixture<TinyGguf>
{
    private async Task<TempoServer> Start() => await TempoServer.StartAsync(
        new ServerOptions { Port = 0, StatsInterval = TimeSpan.Zero, ShutdownGrace = TimeSpan.Zero, Policy = "sarathi", MaxBatch = 4 },
        LlamaBackend.Load(gguf.Path, threads: 2, contextSize: 512));

    [Fact]
    public async Task Completions_IgnoreEos_GeneratesExactlyMaxTokensOfRealText()
    {
        await using var server = await Start();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var requests = Enumerable.Range(0, 3).Select(_ => http.PostAsync(new Uri("v1/completions", UriKind.Relative),
            new StringContent("""{"model":"tiny","prompt":"hello world","max_tokens":6,"ignore_eos":true,"temperature":0}""", Encoding.UTF8, "application/json")));

        var responses = await Task.WhenAll(requests);

        foreach (var response in responses)
        {
            var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Equal(6, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.True(body.GetProperty("tempo").GetProperty("ttft_s").GetDouble() > 0);
            response.Dispose();
        }

        Assert.Equal("tiny", server.ModelName);
        Assert.Equal(0, server.Engine.Live);
    }

    [Fact]
    public async Task CompleteChatStreaming_RealModel_StreamsTokensAndEnds()
    {
        await using var server = await Start();
        var client = new ChatClient("tiny", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;

        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 5 }))
        {
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Contains(finish, new ChatFinishReason?[] { ChatFinishReason.Length, ChatFinishReason.Stop });
        Assert.NotNull(usage);
        Assert.InRange(usage.OutputTokenCount, 1, 5);
    }

    [Fact]
    public async Task Completions_TokenIdOutsideVocabulary_Returns400()
    {
        await using var server = await Start();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using var response = await http.PostAsync(new Uri("v1/completions", UriKind.Relative), new StringContent("""{"prompt":[1,2,99999],"max_tokens":2}""", Encoding.UTF8, "application/json"));

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(0, server.Engine.Steps);
    }
}
