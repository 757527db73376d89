using Tempo.Backends;
using Tempo.Llama;

namespace Tempo.Server.Tests;

/// <summary>Chat prompts in the model's own format: generated GGUF files with and without a chat template.</summary>
public sealed class ChatTemplateTests : IDisposable
{
    // The Jinja text Llama 3 Instruct models carry (llama.cpp recognises the family by its header tokens).
    private const string Llama3Template =
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    private readonly string _dir = Directory.CreateTempSubdirectory("tempo-template-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private LlamaBackend Load(string? template, string name)
    {
        var path = Path.Combine(_dir, name);
        GgufModelWriter.Write(path, new GgufModelOptions { Layers = 1, Embedding = 64, Vocabulary = 512, Context = 256, Heads = 4, Seed = 3, ChatTemplate = template });
        return LlamaBackend.Load(path, threads: 1, contextSize: 256);
    }

    private static readonly ChatTurn[] Conversation = [new("system", "Be brief."), new("user", "Say hello")];

    [Fact]
    public void AModelWithATemplate_GetsItsOwnPromptFormat()
    {
        using var backend = Load(Llama3Template, "llama3.gguf");

        var prompt = backend.ApplyChatTemplate(Conversation);

        Assert.True(backend.UsesModelTemplate, backend.ChatFormat);
        Assert.Contains("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>", prompt, StringComparison.Ordinal);
        Assert.Contains("<|start_header_id|>user<|end_header_id|>\n\nSay hello<|eot_id|>", prompt, StringComparison.Ordinal);
        Assert.EndsWith("<|start_header_id|>assistant<|end_header_id|>\n\n", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("<|im_start|>", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void AModelWithoutATemplate_GetsChatML_AndSaysSo()
    {
        using var backend = Load(null, "plain.gguf");

        var prompt = backend.ApplyChatTemplate(Conversation);

        Assert.False(backend.UsesModelTemplate);
        Assert.Contains("has no chat template", backend.ChatFormat, StringComparison.Ordinal);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nSay hello<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void ATemplateLlamaCppDoesNotKnow_FallsBackToChatML_AndSaysSo()
    {
        using var backend = Load("{{ nothing llama.cpp can recognise }}", "odd.gguf");

        var prompt = backend.ApplyChatTemplate(Conversation);

        Assert.False(backend.UsesModelTemplate);
        Assert.Contains("does not recognise", backend.ChatFormat, StringComparison.Ordinal);
        Assert.StartsWith("<|im_start|>system\n", prompt, StringComparison.Ordinal);
    }
}
