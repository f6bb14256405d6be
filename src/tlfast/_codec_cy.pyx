# placeholder: the Cython engine is being written
