using System.ClientModel;
using System.Text;

using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

using Tempo.Backends;

namespace Tempo.Functional.Tests.Server;

/// <summary>Good paths through the official OpenAI .NET client, over real HTTP on loopback.</summary>
public sealed class OpenAiClientTests
{
    private static OpenAIClientOptions ClientOptions(ServerFixture f) => new() { Endpoint = new Uri(f.Server.BaseAddress, "v1") };

    [Fact]
    public async Task CompleteChat_SimEngine_ReturnsMaxTokensPlaceholderTokensAndUsage()
    {
        await using var f = await ServerFixture.Start();
        var client = new ChatClient(f.Model, new ApiKeyCredential("unused"), ClientOptions(f));

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("Hello there")], new ChatCompletionOptions { MaxOutputTokenCount = 7 });

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(string.Concat(Enumerable.Repeat(SimulatedBackend.PlaceholderToken, 7)), completion.Content[0].Text);
        Assert.Equal(7, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal(f.Model, completion.Model);
    }

    [Fact]
    public async Task CompleteChatStreaming_SimEngine_StreamsEveryTokenThenUsage()
    {
        await using var f = await ServerFixture.Start();
        var client = new ChatClient(f.Model, new ApiKeyCredential("unused"), ClientOptions(f));
        var text = new StringBuilder();
        var contentUpdates = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;

        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Stream please")], new ChatCompletionOptions { MaxOutputTokenCount = 12 }))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                contentUpdates += part.Text.Length > 0 ? 1 : 0;
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(12, contentUpdates);
        Assert.Equal(string.Concat(Enumerable.Repeat(SimulatedBackend.PlaceholderToken, 12)), text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(12, usage.OutputTokenCount);
    }

    [Fact]
    public async Task GetModels_Always_ListsTheServedModel()
    {
        await using var f = await ServerFixture.Start();
        var client = new OpenAIModelClient(new ApiKeyCredential("unused"), ClientOptions(f));

        OpenAIModelCollection models = await client.GetModelsAsync();

        Assert.Equal([f.Model], models.Select(m => m.Id));
    }

    [Fact]
    public async Task CompleteChat_WithApiKey_AuthenticatesAsBearer()
    {
        await using var f = await ServerFixture.Start(o => o with { ApiKey = "s3cret" });
        var client = new ChatClient(f.Model, new ApiKeyCredential("s3cret"), ClientOptions(f));

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2 });

        Assert.Equal(2, completion.Usage.OutputTokenCount);
    }
}
