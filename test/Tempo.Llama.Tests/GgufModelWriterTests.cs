namespace Tempo.Llama.Tests;

[Collection(TinyModelGroup.Name)]
public sealed class GgufModelWriterTests(TinyModel tiny)
{
    [Fact]
    public void Write_SameSeed_SameBytes()
    {
        Assert.Equal(Bytes(TinyModel.Options), Bytes(TinyModel.Options));
    }

    [Fact]
    public void Write_OtherSeed_OtherWeights()
    {
        var a = Bytes(TinyModel.Options);
        var b = Bytes(TinyModel.Options with { Seed = 8 });

        Assert.Equal(a.Length, b.Length);
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData(GgufWeightType.F16)]
    [InlineData(GgufWeightType.Q8_0)]
    public void Write_QuantisedTypes_LoadAndTokenize(GgufWeightType type)
    {
        var path = Path.Combine(Path.GetDirectoryName(tiny.FilePath)!, $"tiny-{type}.gguf");
        GgufModelWriter.Write(path, TinyModel.Options with { Type = type });
        using var model = LlamaModel.Load(path, threads: 1, contextSize: 256);

        Assert.Equal(512, model.VocabularySize);
        Assert.True(new FileInfo(path).Length < new FileInfo(tiny.FilePath).Length);
    }

    [Fact]
    public void Load_WrittenModel_ReportsItsShape()
    {
        var model = tiny.Model;

        Assert.Equal(512, model.VocabularySize);
        Assert.Equal(512, model.ContextSize);
        Assert.Equal(512, model.TrainingContextSize);
        Assert.Equal(GgufVocabulary.Eos, model.EosToken);
        Assert.Equal(GgufVocabulary.Bos, model.BosToken);
        Assert.Equal(TinyModel.Options.ParameterCount, model.ParameterCount);
    }

    [Theory]
    [InlineData("the cat of a dog")]
    [InlineData("Hello, wörld! 🙂 serve\tthe batch\n  twice")]
    [InlineData(" leading space")]
    public void Detokenize_TokenizedText_GivesTheTextBack(string text)
    {
        var ids = tiny.Model.Tokenize(text, addBos: true);

        Assert.Equal(GgufVocabulary.Bos, ids[0]);
        Assert.Equal(text, tiny.Model.Detokenize(ids));
    }

    [Fact]
    public void Tokenize_CommonWords_UseWordPieces()
    {
        var ids = tiny.Model.Tokenize("the cat of a dog", addBos: false);

        Assert.Equal(5, ids.Length);
        Assert.Equal([" the", " cat", " of", " a", " dog"], ids.Select(tiny.Model.TokenToText));
    }

    [Theory]
    [InlineData(0, 64, 512)]
    [InlineData(2, 60, 512)]
    [InlineData(2, 64, 100)]
    public void Validate_ImpossibleShape_Throws(int layers, int embd, int vocab)
    {
        var options = TinyModel.Options with { Layers = layers, Embedding = embd, Vocabulary = vocab };

        Assert.Throws<ArgumentException>(options.Validate);
    }

    private static byte[] Bytes(GgufModelOptions options)
    {
        using var stream = new MemoryStream();
        GgufModelWriter.Write(stream, options);
        return stream.ToArray();
    }
}
