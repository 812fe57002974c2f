"""The ``response`` node's tools: what an author lists, how it becomes a function the model
may call, and the function-calling loop."""
