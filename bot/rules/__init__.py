"""Topic rules: the model, the rules file, live reload, the matcher and rule edits."""
