"""The demo network of Bình Dương and its history: an app at the top, using the engine as any user would."""
