"""FiFa Explorer: a local Gradio app to annotate a pair, audit a build and ask a FiFa-MLLM checkpoint.

It owns only the views. Each tab's work is a plain function with real inputs and plain outputs
(`pair.annotate_pair`, `browse.BuildBrowser`, `ask.ask_photo`), which `app.build_app` wires into
Gradio and the tests call directly. It reads the annotator as the build runs it (`fifa_data`), a
built dataset through `datasets`, and a checkpoint through `model.infer`; nothing imports it.
"""
